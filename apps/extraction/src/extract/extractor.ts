import type { ExtractedValue, JobFieldInput } from '@app/contracts';
import { calibrate } from './calibration';
import { type ParseOptions, PARSERS, type Parsed, SELF_EVIDENT } from './data-types';
import {
  BUYER_WORDS,
  documentCurrency,
  documentLocale,
  letterhead,
  looksLikeName,
  vatIdIn,
} from './document-facts';
import type { Meaning } from './einvoice';
import { meaningOf, PHRASES } from './field-meanings';
import { afterLabel, below, column, labelsOf } from './labels';
import type { TextCell } from './pdf-text';

export { documentCurrency } from './document-facts';
export { labelsOf } from './labels';

export interface Layout {
  /** Per line, its cells with their x positions (PDF.js or OCR). */
  cells?: TextCell[][];
  /** Per line, the OCR confidence of a recognised line; null for the text layer. */
  ocr?: Array<number | null>;
  /** The currency of amounts when the document names none (the job's setting). */
  defaultCurrency?: string | null;
  /** Leave confidences as the rules' raw scores (to fit the calibration on them). */
  rawConfidence?: boolean;
}

type Parse = (s: string) => Parsed | null;

/** One field being read from one document. */
interface Reading {
  lines: string[];
  field: JobFieldInput;
  meaning: Meaning | null;
  parse: Parse;
  cells?: TextCell[][];
  ocr?: Array<number | null>;
}

/** Every label the dictionary knows, to tell a header cell ("Käufer") from a value. */
const ALL_LABELS = new Set(Object.values(PHRASES).flat());
const isLabel = (t: string) =>
  ALL_LABELS.has(
    t
      .toLowerCase()
      .replace(/[:.#]+$/, '')
      .trim(),
  );

/** Words between a label and the cell with its value: parenthesised, a rate, a few words. */
function qualifier(rest: string, money: boolean): boolean {
  const t = rest.trim();
  if (/^\(.*\)$/.test(t)) return true;
  if (!money) return false;
  return RATE.test(t) || (!/\d/.test(t) && t.split(/\s+/).length <= 6);
}

const RATE = /^\(?\d+(?:[.,]\d+)?\s*%\)?$/;
const AMOUNT = /-?\d[\d.,]*\d/g;

const INCLUDING = /(?<!\p{L})(inkl|inklusive|incl|including|inclus|ttc|inclusief)(?!\p{L})/iu;
const PERIOD_START = /(?<!\p{L})(vom|von|from|du|van|depuis)(?!\p{L}).*\d/iu;

/** Phrases of each meaning that end in a shorter label ("net total" ends in "total"). */
const LONGER = Object.entries(PHRASES).flatMap(([m, phrases]) =>
  phrases.map((p) => ({ meaning: m as Meaning, words: p.split(' ') })),
);

/**
 * Whether the words before a label make it another meaning's phrase: "Net total" read for a
 * total, "VAT total" for a total.
 */
function partOfOther(meaning: Meaning | null, label: string, before: string): boolean {
  if (!meaning) return false;
  const prior = before.toLowerCase().match(/\p{L}+/gu) ?? [];
  const n = label.split(' ').length;
  return LONGER.some(
    ({ meaning: m, words }) =>
      m !== meaning &&
      words.length > n &&
      words.slice(-n).join(' ') === label &&
      words.slice(0, -n).join(' ') === prior.slice(-(words.length - n)).join(' '),
  );
}

/**
 * How a field's value is read: by its data type, except where its meaning says more. An
 * invoice number is the token after its label, a VAT id is a VAT number, a party is a name
 * (not a header cell, not an address line).
 */
function parserFor(field: JobFieldInput, meaning: Meaning | null, opts: ParseOptions): Parse {
  const byType = PARSERS[field.dataType];
  const text = field.dataType === 'text' || field.dataType === 'identifier';
  if (meaning === 'invoiceNumber' && text) return (s) => PARSERS.identifier(s);
  if (meaning === 'sellerVatId' && text)
    return (s) => {
      // The buyer's VAT number sits behind the same label, qualified: "N° TVA client".
      if (BUYER_WORDS.test(s.split(/\d/)[0])) return null;
      const v = vatIdIn(s);
      return v ? { ...v, quality: 1 } : null;
    };
  if ((meaning === 'sellerName' || meaning === 'buyerName') && field.dataType === 'text')
    return (s) => {
      const v = s.split(/\s+[-–●|•]\s+/)[0].trim();
      return looksLikeName(v, isLabel) ? { value: v, raw: v, quality: 1 } : null;
    };
  if (field.dataType === 'currency' || field.dataType === 'number')
    return (s) => {
      // The amount a label announces comes first: one word may sit between ("USt. Gesamt:
      // 75,04"), not a run of identifiers ("TVA : FR11… - SIRET : 99999999800010").
      const p = byType(s, opts);
      if (!p) return null;
      const lead = s.slice(0, Math.max(0, s.indexOf(p.raw)));
      return (lead.match(/[\p{L}\p{N}]+/gu) ?? []).length > 1 ? null : p;
    };
  return (s) => byType(s, opts);
}

/**
 * Rule-based extraction of typed fields from a document's text lines: a value is looked for
 * after one of the field's labels (same line, else below it), then parsed by its data type
 * and meaning; what a label does not find, the document may still say (the seller in the
 * letterhead, the only VAT number, the only email). Net, tax and total are checked against
 * each other. Confidence says which path found a value and how cleanly it parsed; a field
 * not found is `null` with confidence 0.
 */
export function extractFields(
  lines: string[],
  fields: JobFieldInput[],
  layout: Layout = {},
): Record<string, ExtractedValue> {
  const { cells, ocr } = layout;
  const out: Record<string, ExtractedValue> = {};
  const currency = documentCurrency(lines) ?? layout.defaultCurrency ?? null;
  const locale = documentLocale(lines);
  const meanings = new Map<string, Meaning | null>();
  for (const field of fields) {
    const meaning = meaningOf(field);
    meanings.set(field.name, meaning);
    // A field that asks for the currency is answered by the document's.
    if (meaning === 'currency' && field.dataType === 'text') {
      out[field.name] = currency
        ? { value: currency, confidence: 0.8, raw: currency }
        : { value: null, confidence: 0, raw: null };
      continue;
    }
    const parse = parserFor(field, meaning, { dayFirst: locale.dayFirst });
    const v = extractOne({ lines, field, meaning, parse, cells, ocr });
    // An amount printed without its currency is in the document's currency.
    const money = v.value as { amount?: number; currency?: string | null } | null;
    if (field.dataType === 'currency' && money && money.currency === null && currency)
      v.value = { ...money, currency };
    out[field.name] = v;
  }
  checkSums(fields, meanings, out);
  for (const v of Object.values(out)) {
    const p = layout.rawConfidence ? v.confidence : calibrate(v.confidence);
    v.confidence = round(p * (ocrOf.get(v) ?? 1));
  }
  return out;
}

/** OCR's confidence in the line each value was read from (values from scans only). */
const ocrOf = new WeakMap<ExtractedValue, number>();

/**
 * A value read from line `at`: from a scan it is marked `ocr`, and OCR's confidence in that
 * line scales the rule's own (after calibration: that is a probability of its own).
 */
function fromLine(v: ExtractedValue, at: number, ocr?: Array<number | null>): ExtractedValue {
  const q = ocr?.[at];
  if (q === null || q === undefined) return v;
  const out: ExtractedValue = { ...v, source: 'ocr' };
  ocrOf.set(out, q);
  return out;
}

function extractOne(r: Reading): ExtractedValue {
  const { lines, field, meaning, parse, cells, ocr } = r;
  if (!PARSERS[field.dataType]) return { value: null, confidence: 0, raw: null };
  const labels = labelsOf(field);
  const party = meaning === 'sellerName' || meaning === 'sellerVatId';
  const money = meaning === 'total' || meaning === 'net' || meaning === 'tax';
  // First a value on the label's own line, for any label; only then one below a label (a
  // column header "Gesamtbetrag" over line items is not where the total is).
  for (const pass of ['same line', 'below'] as const) {
    for (const label of labels) {
      for (let i = 0; i < lines.length; i++) {
        const hit = afterLabel(lines[i], label);
        // "Ihre USt.-IdNr." is the buyer's; "Lieferant   Käufer" is a header row.
        if (!hit || (party && BUYER_WORDS.test(hit.before))) continue;
        // "Net total" is not a total, "MwSt.-%" no tax amount, "Netto (excl. USt.)" no tax.
        if (partOfOther(meaning, label, hit.before)) continue;
        if (/\([^)]*$/.test(hit.before)) continue;
        if (money && /^[-.\s]*%/.test(hit.rest)) continue;
        // "… inklusive 19 % Versicherungsteuer 220,00": an amount that includes the tax.
        if ((meaning === 'tax' || meaning === 'net') && INCLUDING.test(hit.before)) continue;
        // "Zeitraum vom 06.12.2013 bis zum 06.12.2014": the end of a period, not a due date.
        if (meaning === 'dueDate' && PERIOD_START.test(hit.before)) continue;
        // A header: nothing after the label but other labels (a table's header row).
        const header = !hit.rest.trim() || isLabel(hit.rest) || (money && !/\d/.test(hit.rest));
        let found: Parsed | null = null;
        let base = hit.colon ? 0.95 : 0.85;
        if (pass === 'same line') {
          found = header ? null : parse(hit.rest);
          // A qualifier between label and value, then the value in the next cell: "Brutto
          // (inkl. USt.)   529,87", "Versicherungsteuer 19 %   9,50 €", "Versicherungsteuer zur
          // Wohngebäudeversicherung   163,40 €".
          if (!found && hit.next && qualifier(hit.rest, money)) {
            // After a rate, a base and its tax ("USt. 19%   198,00 37,62"): the last amount.
            const amounts = RATE.test(hit.rest.trim()) ? hit.next.match(AMOUNT) : null;
            found = parse(amounts && amounts.length > 1 ? amounts[amounts.length - 1] : hit.next);
          }
        } else if (header) {
          base = 0.75;
          if (money) {
            // A sum in a table is its column's last row: "Endbetrag" over -5,77 / -3,02 / -8,79.
            const rows = column(cells, i, label).map(parse);
            const n = rows.findIndex((r) => !r);
            const run = n < 0 ? rows : rows.slice(0, n);
            found = run.length > 1 ? run[run.length - 1] : null;
            if (found) base = 0.7;
          }
          for (const text of found ? [] : below(lines, cells, i, label)) {
            found = parse(text);
            if (found) break;
          }
        }
        if (!found) continue;
        let value = found.value;
        // An address often runs onto a second line: "City, ST 12345".
        if (
          field.dataType === 'address' &&
          i + 1 < lines.length &&
          !/\b\d{5}\b/.test(String(value))
        ) {
          const next = lines[i + 1].trim();
          if (/\b[A-Z]{2}\s+\d{5}(?:-\d{4})?\b/.test(next)) value = `${String(value)}, ${next}`;
        }
        return fromLine({ value, confidence: round(base * found.quality), raw: found.raw }, i, ocr);
      }
    }
  }
  return withoutLabel(r);
}

/** What the document says without a label: by meaning, else a self-evident type found once. */
function withoutLabel(r: Reading): ExtractedValue {
  const { lines, field, meaning, parse, cells, ocr } = r;
  const none: ExtractedValue = { value: null, confidence: 0, raw: null };
  if (meaning === 'sellerName' && field.dataType === 'text') {
    const head = letterhead(lines, cells, isLabel);
    return head
      ? { value: head.value, confidence: round(0.85 * head.quality), raw: head.value }
      : none;
  }
  if (meaning === 'sellerVatId') {
    // The first VAT number on a line that is not about the buyer.
    for (let i = 0; i < lines.length; i++) {
      const v = vatIdIn(lines[i]);
      if (v && !BUYER_WORDS.test(lines[i]))
        return fromLine({ value: v.value, confidence: 0.7, raw: v.raw }, i, ocr);
    }
    return none;
  }
  // A due date is never just "the date on the page"; other meanings need their label.
  if (meaning && meaning !== 'issueDate') return none;
  if (!SELF_EVIDENT.has(field.dataType)) return none;
  const seen = new Map<string, { p: Parsed; at: number }>();
  lines.forEach((line, at) => {
    for (const chunk of line.split(/\s{3,}/)) {
      const p = parse(chunk);
      if (p && !seen.has(JSON.stringify(p.value))) seen.set(JSON.stringify(p.value), { p, at });
    }
  });
  if (seen.size === 0) return none;
  const { p, at } = [...seen.values()][0];
  return fromLine(
    { value: p.value, confidence: round((seen.size === 1 ? 0.6 : 0.3) * p.quality), raw: p.raw },
    at,
    ocr,
  );
}

/**
 * Net + tax = total, to the cent. When the three agree each is surer; when one of net and
 * tax is missing and the other two were read, it is their difference; a tax that disagrees
 * is replaced by the difference when that is a plausible tax (an invoice with several rates
 * prints one line each); otherwise none of them is believed as much.
 */
function checkSums(
  fields: JobFieldInput[],
  meanings: Map<string, Meaning | null>,
  out: Record<string, ExtractedValue>,
): void {
  const pick = (m: Meaning) =>
    fields.find((f) => meanings.get(f.name) === m && f.dataType === 'currency')?.name;
  const [net, tax, total] = [pick('net'), pick('tax'), pick('total')];
  if (!net || !total) return;
  const amount = (n?: string) =>
    (n ? (out[n]?.value as { amount?: number } | null)?.amount : undefined) ?? undefined;
  const [a, b, c] = [amount(net), amount(tax), amount(total)];
  const cents = (x: number) => Math.round(x * 100);
  // Net missing: the total less the tax, when both were read.
  if (a === undefined && b !== undefined && c !== undefined && Math.abs(c) >= Math.abs(b)) {
    out[net] = {
      value: { amount: (cents(c) - cents(b)) / 100, currency: currencyOf(out[total]) },
      confidence: round(Math.min(out[tax!].confidence, out[total].confidence) * 0.8),
      raw: `${out[total].raw ?? ''} − ${out[tax!].raw ?? ''}`,
    };
    return;
  }
  if (a === undefined || c === undefined) return;
  if (b !== undefined && cents(a) + cents(b) === cents(c)) {
    for (const n of [net, tax!, total])
      out[n].confidence = round(Math.min(1, out[n].confidence + 0.1));
    return;
  }
  const derived = (cents(c) - cents(a)) / 100;
  // Tax missing, or disagreeing where the difference is a plausible tax (several rates were
  // printed, one was read): net and total decide.
  const plausible =
    derived !== 0 && Math.abs(derived) < Math.abs(a) && Math.sign(derived) === Math.sign(a);
  if (
    tax &&
    (b === undefined || plausible) &&
    Math.abs(c) >= Math.abs(a) &&
    Math.sign(a) === Math.sign(c)
  ) {
    out[tax] = {
      value: { amount: derived, currency: currencyOf(out[total]) },
      confidence: round(Math.min(out[net].confidence, out[total].confidence) * 0.8),
      raw: `${out[total].raw ?? ''} − ${out[net].raw ?? ''}`,
    };
    return;
  }
  for (const n of [net, total, ...(b !== undefined ? [tax!] : [])])
    out[n].confidence = round(out[n].confidence * 0.6);
}

const currencyOf = (v: ExtractedValue) =>
  (v.value as { currency?: string | null } | null)?.currency ?? null;
const round = (n: number) => Math.round(n * 100) / 100;
