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
    'due',
    'pay by',
    'fälligkeitsdatum',
    'fällig',
    'zahlbar bis',
    'échéance',
    'date d échéance',
    'vervaldatum',
  ],
  issueDate: [
    'invoice date',
    'issue date',
    'date of issue',
    'date',
    'rechnungsdatum',
    'datum',
    'date de facture',
    'factuurdatum',
  ],
  invoiceNumber: [
    'invoice number',
    'invoice no',
    'invoice id',
    'invoice',
    'number',
    'rechnungsnummer',
    'rechnungsnr',
    'numéro de facture',
    'n° facture',
    'factuurnummer',
  ],
  sellerVatId: [
    'vat id',
    'vat number',
    'vat no',
    'vat reg',
    'tax id',
    'tax number',
    'ust id',
    'ust idnr',
    'umsatzsteuer id',
    'steuernummer',
    'tva intracommunautaire',
    'n° tva',
    'btw nummer',
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
    'rechnungssteller',
    'fournisseur',
    'vendeur',
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
  currency: ['currency', 'währung', 'devise', 'valuta'],
  net: [
    'net amount',
    'net total',
    'total net',
    'subtotal',
    'sub total',
    'net',
    'nettobetrag',
    'netto',
    'montant ht',
    'total ht',
    'hors taxe',
    'netto bedrag',
  ],
  tax: [
    'tax amount',
    'vat amount',
    'total tax',
    'total vat',
    'tax',
    'vat',
    'mwst',
    'mehrwertsteuer',
    'umsatzsteuer',
    'montant tva',
    'tva',
    'btw',
  ],
  amountDue: [
    'amount due',
    'balance due',
    'amount payable',
    'zahlbetrag',
    'net à payer',
    'te betalen',
  ],
  total: [
    'grand total',
    'total amount',
    'invoice total',
    'gross amount',
    'total',
    'amount',
    'gesamtbetrag',
    'bruttobetrag',
    'brutto',
    'montant ttc',
    'total ttc',
    'totaal',
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
  return PHRASES[meaning].filter((p) => !ONLY_ALONE.has(p) || meaning === 'issueDate');
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
