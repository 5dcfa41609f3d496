import { readdirSync, readFileSync } from 'node:fs';
import { corpusDir, corpusFile, describeWithCorpus } from '@app/testing';
import type { JobFieldInput } from '@app/contracts';
import { isEInvoiceXml, readEInvoice } from './einvoice';
import { eInvoiceValues, meaningOf } from './field-meanings';
import { pdfContent } from './pdf-text';

/**
 * An XRechnung UBL invoice, as the KoSIT test suite publishes it (itplr-kosit/
 * xrechnung-testsuite, src/test/business-cases/standard/01.01a-INVOICE_ubl.xml), its header
 * and totals kept; the invoice lines are left out.
 */
const UBL = `<?xml version="1.0" encoding="UTF-8"?>
<ubl:Invoice xmlns:ubl="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
             xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
             xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
    <cbc:CustomizationID>urn:cen.eu:en16931:2017#compliant#urn:xoev-de:kosit:standard:xrechnung_2.2</cbc:CustomizationID>
    <cbc:ID>123456XX</cbc:ID>
    <cbc:IssueDate>2016-04-04+01:00</cbc:IssueDate>
    <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
    <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
    <cac:AccountingSupplierParty><cac:Party>
        <cac:PartyName><cbc:Name>[Seller trading name]</cbc:Name></cac:PartyName>
        <cac:PartyTaxScheme><cbc:CompanyID>DE 123456789</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
        <cac:PartyLegalEntity><cbc:RegistrationName>[Seller name]</cbc:RegistrationName><cbc:CompanyID>[HRA-Eintrag]</cbc:CompanyID></cac:PartyLegalEntity>
    </cac:Party></cac:AccountingSupplierParty>
    <cac:AccountingCustomerParty><cac:Party>
        <cac:PartyLegalEntity><cbc:RegistrationName>[Buyer name]</cbc:RegistrationName></cac:PartyLegalEntity>
    </cac:Party></cac:AccountingCustomerParty>
    <cac:PaymentMeans><cbc:PaymentMeansCode>58</cbc:PaymentMeansCode>
        <cac:PayeeFinancialAccount><cbc:ID>DE75512108001245126199</cbc:ID></cac:PayeeFinancialAccount>
    </cac:PaymentMeans>
    <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">22.04</cbc:TaxAmount></cac:TaxTotal>
    <cac:LegalMonetaryTotal>
        <cbc:LineExtensionAmount currencyID="EUR">314.86</cbc:LineExtensionAmount>
        <cbc:TaxExclusiveAmount currencyID="EUR">314.86</cbc:TaxExclusiveAmount>
        <cbc:TaxInclusiveAmount currencyID="EUR">336.9</cbc:TaxInclusiveAmount>
        <cbc:PayableAmount currencyID="EUR">336.9</cbc:PayableAmount>
    </cac:LegalMonetaryTotal>
</ubl:Invoice>`;

async function embeddedXml(file: string): Promise<string> {
  const { attachments } = await pdfContent(readFileSync(corpusFile('invoices', file)!));
  const xml = attachments.find((a) => /\.xml$/i.test(a.name));
  if (!xml) throw new Error(`${file} embeds no XML`);
  return Buffer.from(xml.content).toString('utf8');
}

describe('e-invoice XML', () => {
  it('reads a UBL invoice exactly', () => {
    expect(isEInvoiceXml(Buffer.from(UBL))).toBe(true);
    expect(readEInvoice(UBL)).toEqual({
      syntax: 'UBL',
      invoiceNumber: '123456XX',
      issueDate: '2016-04-04',
      currency: 'EUR',
      net: 314.86,
      tax: 22.04,
      total: 336.9,
      amountDue: 336.9,
      sellerName: '[Seller name]',
      sellerVatId: 'DE 123456789',
      buyerName: '[Buyer name]',
      iban: 'DE75512108001245126199',
    });
  });

  it('refuses what is not an invoice, and any DTD', () => {
    expect(readEInvoice('<?xml version="1.0"?><Order><ID>1</ID></Order>')).toBeNull();
    expect(readEInvoice('not xml at all <<<')).toBeNull();
    const bomb = `<?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY a "aaaaaaaaaa">]><Invoice><ID>&a;</ID></Invoice>`;
    expect(readEInvoice(bomb)).toBeNull();
    expect(isEInvoiceXml(Buffer.from('<?xml version="1.0"?><Order/>'))).toBe(false);
  });

  it('knows what a field means from its name, in several languages', () => {
    const m = (name: string, description?: string) => meaningOf({ name, description });
    expect(m('total')).toBe('total');
    expect(m('invoice_total')).toBe('total');
    expect(m('net_amount')).toBe('net');
    expect(m('vat')).toBe('tax');
    expect(m('vat_id')).toBe('sellerVatId');
    expect(m('Rechnungsnummer')).toBe('invoiceNumber');
    expect(m('montant_ttc')).toBe('total');
    expect(m('due_date')).toBe('dueDate');
    expect(m('invoiceDate')).toBe('issueDate');
    expect(m('seller')).toBe('sellerName');
    // General words mean nothing inside a longer name.
    expect(m('po_number')).toBeNull();
    expect(m('ship_date')).toBeNull();
    expect(m('reference', 'hints: Rechnungsnr')).toBe('invoiceNumber');
  });
});

describeWithCorpus('e-invoices in the corpus', ['invoices'], () => {
  const files = () => readdirSync(`${corpusDir()}/invoices`).filter((f) => /^v\d|^v2fail/.test(f));

  it('finds and reads the XML every ZUGFeRD / Factur-X invoice embeds', async () => {
    const names = files();
    expect(names.length).toBeGreaterThanOrEqual(18);
    for (const f of names) {
      const inv = readEInvoice(await embeddedXml(f));
      expect({ f, ok: !!inv?.invoiceNumber && !!inv.total && !!inv.sellerName }).toEqual({
        f,
        ok: true,
      });
    }
  });

  it('reads a Factur-X (CII) invoice exactly, as its XML says', async () => {
    const inv = readEInvoice(
      await embeddedXml('v2fail_FNFE-factur-x-examples_Facture_FR_EN16931.pdf'),
    );
    expect(inv).toEqual({
      syntax: 'CII',
      invoiceNumber: 'FA-2017-0010',
      issueDate: '2017-11-13',
      dueDate: '2017-12-13',
      currency: 'EUR',
      net: 624.9,
      tax: 46.25,
      total: 671.15,
      amountDue: 470.15,
      sellerName: 'Au bon moulin',
      sellerVatId: 'FR11999999998',
      buyerName: 'Ma jolie boutique',
      iban: 'FR2012421242124212421242124',
    });
    const fields: JobFieldInput[] = [
      { name: 'invoice_number', dataType: 'text' },
      { name: 'total', dataType: 'currency' },
      { name: 'date', dataType: 'date' },
      { name: 'vat_id', dataType: 'text' },
      { name: 'po_number', dataType: 'text' },
    ];
    expect(eInvoiceValues(inv!, fields)).toEqual({
      invoice_number: {
        value: 'FA-2017-0010',
        confidence: 1,
        raw: 'FA-2017-0010',
        source: 'einvoice',
      },
      total: {
        value: { amount: 671.15, currency: 'EUR' },
        confidence: 1,
        raw: '671.15',
        source: 'einvoice',
      },
      date: { value: '2017-11-13', confidence: 1, raw: '2017-11-13', source: 'einvoice' },
      vat_id: { value: 'FR11999999998', confidence: 1, raw: 'FR11999999998', source: 'einvoice' },
    });
  });

  it('reads a ZUGFeRD 1.0 invoice exactly', async () => {
    const inv = readEInvoice(await embeddedXml('v1_Intarsys_ZUGFeRD_1p0_BASIC_Einfach.pdf'));
    expect(inv).toMatchObject({
      syntax: 'CII-ZUGFeRD1',
      invoiceNumber: '471102',
      issueDate: '2013-03-05',
      currency: 'EUR',
      net: 198,
      tax: 37.62,
      total: 235.62,
      sellerName: 'Lieferant GmbH',
      sellerVatId: 'DE123456789',
      buyerName: 'Kunden AG Mitte',
      iban: 'DE08700901001234567890',
    });
  });
});
