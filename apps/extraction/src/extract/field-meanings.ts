import type { ExtractedValue, JobFieldInput } from '@app/contracts';
import { PARSERS } from './data-types';
import type { EInvoice, Meaning } from './einvoice';

/**
 * What a job's field means on an invoice, from its name (and `hints:` in its description),
 * in the languages the invoices come in: English, German, French, Dutch. Longer phrases are
 * tried first, so "vat id" is the seller's VAT number and "vat" the tax amount.
 */
export const PHRASES: Record<Meaning, string[]> = {
  dueDate: [
    'due date',
    'payment due',
    'due by',
    'remit until',
    'payable until',
    'pay until',
    'due',
    'pay by',
    'fälligkeitsdatum',
    'fälligkeitstag',
    'fällig am',
    'fälligkeit',
    'fällig',
    'zahlbar bis',
    'netto bis',
    'zahlung bis',
    'bis zum',
    'date d échéance',
    'échéance',
    'vervaldatum',
    'uiterste betaaldatum',
  ],
  issueDate: [
    'invoice date',
    'issue date',
    'date of issue',
    'date',
    'rechnungsdatum',
    'belegdatum',
    'beleg datum',
    'datum',
    'date de facture',
    'date facture',
    'factuurdatum',
  ],
  invoiceNumber: [
    'invoice number',
    'invoice no',
    'invoice id',
    'invoice',
    'number',
    'rechnungsnummer',
    'rechnungs nr',
    'rechnungsnr',
    'rechnung nr',
    'rechnung',
    'belegnummer',
    'beleg nr',
    'numéro de facture',
    'n° de facture',
    'n° facture',
    'facture',
    'avoir',
    'factuurnummer',
    'factuur',
  ],
  sellerVatId: [
    'vat id',
    'vat number',
    'vat no',
    'vat reg no',
    'vat reg',
    'tax id',
    'ust identnr',
    'ust id nr',
    'ust idnr',
    'ust id',
    'ustid',
    'umsatzsteuer id',
    'tva intracommunautaire',
    'numéro de tva',
    'n° tva',
    'btw nummer',
    'btw nr',
    'seller vat',
  ],
  iban: ['iban', 'bank account'],
  sellerName: [
    'seller',
    'supplier',
    'vendor',
    'issuer',
    'merchant',
    'company',
    'from',
    'verkäufer',
    'lieferant',
    'rechnungsersteller',
    'rechnungssteller',
    'absender',
    'fournisseur',
    'vendeur',
    'émetteur',
    'leverancier',
  ],
  buyerName: [
    'buyer',
    'customer',
    'client',
    'bill to',
    'recipient',
    'kunde',
    'käufer',
    'rechnungsempfänger',
    'acheteur',
    'klant',
  ],
  currency: ['currency', 'währung', 'devise', 'valuta', 'beträge in'],
  net: [
    'net amount',
    'net total',
    'total net',
    'subtotal',
    'sub total',
    'net',
    'nettobetrag',
    'nettosumme',
    'summe netto',
    'rechnungssumme netto',
    'gesamt netto',
    'netto',
    'montant ht',
    'total ht',
    'hors taxe',
    'netto bedrag',
    'subtotaal',
  ],
  tax: [
    'tax amount',
    'vat amount',
    'total tax',
    'total vat',
    'vat total',
    'tax total',
    'ust gesamt',
    'mwst gesamt',
    'tax',
    'vat',
    'mwst betrag',
    'ust betrag',
    'steuerbetrag',
    'zuzügl ust',
    'zzgl ust',
    'zuzügl mwst',
    'zzgl mwst',
    'mwst',
    'mehrwertsteuer',
    'umsatzsteuer',
    'versicherungsteuer',
    'ust',
    'montant tva',
    'total tva',
    'total taxes',
    'tva',
    'btw',
    'btw bedrag',
  ],
  amountDue: [
    'amount due',
    'balance due',
    'amount payable',
    'due payable',
    'zahlbetrag',
    'zu zahlen',
    'net à payer',
    'solde à payer',
    'te betalen',
  ],
  total: [
    'grand total',
    'total amount',
    'invoice total',
    'total due',
    'gross amount',
    'total',
    'amount',
    'gesamtbetrag',
    'gesamtsumme',
    'rechnungsbetrag',
    'rechnungssumme brutto',
    'summe inkl ust',
    'summe inkl mwst',
    'endbetrag',
    'bruttobetrag',
    'brutto',
    'rechnungsbeitrag',
    'montant ttc',
    'total ttc',
    'totaal',
    'totaalbedrag',
  ],
};

/** Words too general to mean anything inside a longer name ("po number", "ship date"). */
const ONLY_ALONE = new Set([
  'number',
  'date',
  'amount',
  'invoice',
  'from',
  'due',
  'company',
  'datum',
]);

const BY_LENGTH = (Object.entries(PHRASES) as Array<[Meaning, string[]]>)
  .flatMap(([meaning, phrases]) => phrases.map((p) => ({ meaning, phrase: p, words: words(p) })))
  .sort((a, b) => b.phrase.length - a.phrase.length);

function words(s: string): string {
  return ` ${s
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.'’:#/]+/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase()} `;
}

/**
 * The labels a value of this meaning follows on invoices, in every language the dictionary
 * has: a field named `total` finds "Gesamtbetrag" or "Total TTC" without hints. Words too
 * general to be a label on their own ("number") are left out.
 */
export function builtInLabels(field: Pick<JobFieldInput, 'name' | 'description'>): string[] {
  const meaning = meaningOf(field);
  if (!meaning) return [];
  // "Invoice # RE-20190610/507": the word alone labels the number (and "Date" the date).
  const own = PHRASES[meaning].filter(
    (p) =>
      !ONLY_ALONE.has(p) ||
      (meaning === 'issueDate' && (p === 'date' || p === 'datum')) ||
      (meaning === 'invoiceNumber' && p === 'invoice'),
  );
  return own;
}

/**
 * Labels tried only after all of a field's own: a total not printed as such is what is due
 * (tried last, so an invoice's "amount due" after a prepayment does not win over its total).
 */
export function fallbackLabels(field: Pick<JobFieldInput, 'name' | 'description'>): string[] {
  return meaningOf(field) === 'total' ? PHRASES.amountDue : [];
}

/** The invoice meaning of a field, or null when its name and hints name none. */
export function meaningOf(field: Pick<JobFieldInput, 'name' | 'description'>): Meaning | null {
  const hints = /hints?\s*:\s*(.+)$/im.exec(field.description ?? '')?.[1] ?? '';
  for (const source of [field.name, ...hints.split(/[,;|]/)]) {
    const w = words(source);
    const hit = BY_LENGTH.find((p) =>
      ONLY_ALONE.has(p.phrase) ? w === p.words : w.includes(p.words),
    );
    if (hit) return hit.meaning;
  }
  return null;
}

const AMOUNTS: ReadonlySet<Meaning> = new Set(['net', 'tax', 'total', 'amountDue']);

/**
 * The values an e-invoice gives the job's fields, exactly (confidence 1, source `einvoice`),
 * in each field's type: money as { amount, currency }, dates ISO, text as written. Fields the
 * invoice says nothing about are left out (the text engines may still find them).
 */
export function eInvoiceValues(
  inv: EInvoice,
  fields: JobFieldInput[],
): Record<string, ExtractedValue> {
  const out: Record<string, ExtractedValue> = {};
  for (const field of fields) {
    const meaning = meaningOf(field);
    if (!meaning) continue;
    const v = inv[meaning] ?? (meaning === 'total' ? inv.amountDue : undefined);
    if (v === undefined) continue;
    const raw = String(v);
    let value: unknown;
    if (AMOUNTS.has(meaning) || meaning === 'total') {
      const n = v as number;
      value =
        field.dataType === 'currency'
          ? { amount: n, currency: inv.currency ?? null }
          : field.dataType === 'number' || field.dataType === 'integer'
            ? n
            : raw;
    } else if (field.dataType === 'text' || field.dataType === 'name') value = raw;
    else value = PARSERS[field.dataType]?.(raw)?.value ?? raw;
    out[field.name] = { value, confidence: 1, raw, source: 'einvoice' };
  }
  return out;
}
