import { expectedValues, INVOICE_FIELDS, invoicePdf, sampleInvoice } from '@app/testing';
import { PARSERS } from './data-types';
import { extractFields, labelsOf } from './extractor';
import { pdfLines, UnreadablePdfError } from './pdf-text';

describe('field extraction', () => {
  it('reads every typed field of generated invoices, whatever their date order', async () => {
    for (const n of [0, 1, 2, 3, 7]) {
      const inv = sampleInvoice(n);
      const lines = await pdfLines(await invoicePdf(inv));
      const got = extractFields(lines, INVOICE_FIELDS);
      const values = Object.fromEntries(Object.entries(got).map(([k, v]) => [k, v.value]));
      expect(values).toEqual(expectedValues(inv));
      for (const v of Object.values(got)) expect(v.confidence).toBeGreaterThanOrEqual(0.9);
    }
  });

  it('says when a field is not there, and is less sure of values found without a label', async () => {
    const lines = ['Contact us at help@example.org today', 'Reference   77'];
    const fields = [
      { name: 'po_number', dataType: 'text' as const },
      { name: 'reply_to', dataType: 'email' as const },
      { name: 'email', dataType: 'email' as const, description: 'hints: contact us at' },
    ];
    const raw = extractFields(lines, fields, { rawConfidence: true });
    expect(raw.po_number).toEqual({ value: null, confidence: 0, raw: null });
    expect(raw.reply_to.value).toBe('help@example.org');
    // The rules' raw scores order paths: no label scores under a label.
    expect(raw.reply_to.confidence).toBeLessThan(raw.email.confidence);
    // Calibrated, each is the share of such values right on the dev corpus (monotone).
    const got = extractFields(lines, fields);
    expect(got.reply_to.confidence).toBeLessThanOrEqual(got.email.confidence);
    expect(got.po_number.confidence).toBe(0);
  });

  it('parses dates in several orders and flags ambiguous ones', () => {
    expect(PARSERS.date('2026-03-05')).toMatchObject({ value: '2026-03-05', quality: 1 });
    expect(PARSERS.date('25/12/2026')).toMatchObject({ value: '2026-12-25', quality: 1 });
    expect(PARSERS.date('12/25/2026')).toMatchObject({ value: '2026-12-25', quality: 1 });
    expect(PARSERS.date('05.03.2026')).toMatchObject({ value: '2026-03-05', quality: 0.75 });
    expect(PARSERS.date('03/05/2026')).toMatchObject({ value: '2026-03-05', quality: 0.75 });
    expect(PARSERS.date('March 5, 2026')).toMatchObject({ value: '2026-03-05' });
    expect(PARSERS.date('5 Mar 2026')).toMatchObject({ value: '2026-03-05' });
    expect(PARSERS.date('31/02/2026')).toBeNull();
  });

  it('normalises each data type', () => {
    expect(PARSERS.currency('EUR 1.234,00')?.value).toEqual({ amount: 1234, currency: 'EUR' });
    expect(PARSERS.currency('£99.5')?.value).toEqual({ amount: 99.5, currency: 'GBP' });
    expect(PARSERS.currency('(42.00) USD')?.value).toEqual({ amount: -42, currency: 'USD' });
    expect(PARSERS.number('1,234.5 units')?.value).toBe(1234.5);
    expect(PARSERS.integer('3.5')).toBeNull();
    expect(PARSERS.percentage('12.5 %')?.value).toBe(12.5);
    expect(PARSERS.time('9:05 pm')?.value).toBe('21:05:00');
    expect(PARSERS.time('12:00 AM')?.value).toBe('00:00:00');
    expect(PARSERS.boolean('Checked')?.value).toBe(true);
    expect(PARSERS.phone('(555) 010-4477')?.value).toBe('5550104477');
    expect(PARSERS.phone('2026-03-05')).toBeNull();
    expect(PARSERS.url('see www.example.org/x')?.value).toBe('https://www.example.org/x');
    expect(PARSERS.email('Mail: A.B@Example.COM')?.value).toBe('a.b@example.com');
  });

  it('takes labels from the field name and its hints, then its meaning in several languages', () => {
    const labels = labelsOf({
      name: 'totalDue',
      dataType: 'currency',
      description: 'hints: amount due; balance',
    });
    expect(labels.slice(0, 2)).toEqual(['amount due', 'balance']);
    expect(labels).toContain('total due');
    expect(labels).toEqual(expect.arrayContaining(['gesamtbetrag', 'montant ttc', 'totaal']));
  });

  it('reads what real invoices print: other languages, punctuated labels, letterheads, sums', () => {
    // The shapes of the corpus' ZUGFeRD and Factur-X invoices (German, French, English).
    expect(PARSERS.date('24. Januar 2014')?.value).toBe('2014-01-24');
    expect(PARSERS.date('02 Juillet 2015')?.value).toBe('2015-07-02');
    expect(PARSERS.date('August 3 , 2014')?.value).toBe('2014-08-03');
    expect(PARSERS.date('8-9-2022', { dayFirst: true })?.value).toBe('2022-09-08');
    expect(PARSERS.date('05/11/2017', { dayFirst: true })?.value).toBe('2017-11-05');
    expect(PARSERS.identifier('562044387 du 02 Juillet 2015')?.value).toBe('562044387');
    expect(PARSERS.identifier('gemäß Bestellung Nr. 2014-471331')).toBeNull();
    expect(PARSERS.currency('-233,47 €')?.value).toEqual({ amount: -233.47, currency: 'EUR' });
    expect(PARSERS.currency('FR11999999998')).toBeNull();
    expect(PARSERS.currency('19%')).toBeNull();
    const lines = [
      'Au bon moulin SARL - 1242 chemin de l’olive - 84340 Malaucène - France',
      'Facture FA-2017-0010',
      'Date de facture   05/11/2017',
      'N° TVA client   FR19787878784',
      'Ihre USt.-IdentNr.: DE234567890',
      'Net total: 496.00 €',
      'Total TTC   -233,47 €',
      'USt.-Identnr.:   DE123456789',
      'Date d’échéance   16/11/2017',
    ];
    const got = extractFields(lines, [
      { name: 'seller', dataType: 'text' },
      { name: 'invoice_number', dataType: 'text' },
      { name: 'invoice_date', dataType: 'date' },
      { name: 'due_date', dataType: 'date' },
      { name: 'total', dataType: 'currency' },
      { name: 'vat_id', dataType: 'text' },
    ]);
    expect(got.seller.value).toBe('Au bon moulin SARL');
    expect(got.invoice_number.value).toBe('FA-2017-0010');
    // A French document: day first.
    expect(got.invoice_date.value).toBe('2017-11-05');
    expect(got.due_date.value).toBe('2017-11-16');
    // "Net total" is no total; the sign stays.
    expect(got.total.value).toEqual({ amount: -233.47, currency: 'EUR' });
    // Neither the client's VAT number nor "Ihre" (the buyer's).
    expect(got.vat_id.value).toBe('DE123456789');
  });

  it('no longer makes the mistakes the real invoices showed', () => {
    // A label inside a longer word; a footer taken for the invoice number.
    const footer = extractFields(
      ['ZUGFeRD Beispiel-Rechnungen für ZUGFeRD 2.2, (c) FeRD 2022', 'Rechnungsnummer: 471102'],
      [{ name: 'invoice_number', dataType: 'text' }],
    );
    expect(footer.invoice_number.value).toBe('471102');
    // A VAT number's digits are no tax amount.
    const vat = extractFields(
      ['USt.-Id.-Nr.: DE123456789'],
      [
        { name: 'tax_amount', dataType: 'currency' },
        { name: 'vat_id', dataType: 'text' },
      ],
    );
    expect(vat.tax_amount.value).toBeNull();
    expect(vat.vat_id.value).toBe('DE123456789');
    // Currencies before or after, as symbol or code; never USD by default.
    expect(PARSERS.currency('529,87 €')?.value).toEqual({ amount: 529.87, currency: 'EUR' });
    expect(PARSERS.currency('EUR 529.87')?.value).toEqual({ amount: 529.87, currency: 'EUR' });
    expect(PARSERS.currency('£1,234.50')?.value).toEqual({ amount: 1234.5, currency: 'GBP' });
    expect(PARSERS.currency('₹ 12,500.00')?.value).toEqual({ amount: 12500, currency: 'INR' });
    expect(PARSERS.currency('529.87')?.value).toEqual({ amount: 529.87, currency: null });
  });

  it('checks net + tax = total, and derives the one of net and tax that is missing or implausible', () => {
    const fields = [
      { name: 'net_amount', dataType: 'currency' as const },
      { name: 'tax_amount', dataType: 'currency' as const },
      { name: 'total', dataType: 'currency' as const },
    ];
    const raw = { rawConfidence: true };
    const agree = extractFields(
      ['Nettobetrag: 496,00 €', 'USt. Gesamt: 75,04 €', 'Gesamtbetrag: 571,04 €'],
      fields,
      raw,
    );
    expect(agree.tax_amount.confidence).toBe(1);
    const derived = extractFields(
      ['Summe netto: 496,00 €', 'Summe inkl. USt: 571,04 €'],
      fields,
      raw,
    );
    expect(derived.tax_amount.value).toEqual({ amount: 75.04, currency: 'EUR' });
    expect(derived.tax_amount.confidence).toBeLessThan(0.9);
    // One of several tax lines read: net and total decide the tax.
    const oneRate = extractFields(
      ['Nettobetrag: 473,00 €', 'MwSt. 7%   275,00 19,25', 'Gesamtbetrag: 529,87 €'],
      fields,
      raw,
    );
    expect(oneRate.tax_amount.value).toEqual({ amount: 56.87, currency: 'EUR' });
    // A total below its net: nothing adds up, nothing is believed as much.
    const disagree = extractFields(
      ['Nettobetrag: 496,00 €', 'USt. Gesamt: 70,00 €', 'Gesamtbetrag: 480,00 €'],
      fields,
      raw,
    );
    expect(disagree.total.confidence).toBeLessThan(0.6);
  });

  it('refuses what is not a PDF', async () => {
    await expect(pdfLines(Buffer.from('hello'))).rejects.toBeInstanceOf(UnreadablePdfError);
  });
});
