import type { ExtractedValue, JobFieldInput } from '@app/contracts';
import { CURRENCY_CODES, CURRENCY_SYMBOLS, PARSERS, type Parsed, SELF_EVIDENT } from './data-types';
import { builtInLabels, meaningOf } from './field-meanings';
import type { TextCell } from './pdf-text';

/**
 * Labels a field's value may follow: any `hints:` in its description (the user's, tried
 * first), then its name in words with the labels its meaning has on invoices in the languages
 * the dictionary knows. Longest first within each, so "invoice date" wins over "date".
 */
export function labelsOf(field: JobFieldInput): string[] {
  const words = field.name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_\-.]+/g, ' ')
    .trim()
    .toLowerCase();
  const hints = /hints?\s*:\s*(.+)$/im.exec(field.description ?? '')?.[1] ?? '';
  const byLength = (xs: string[]) => [...new Set(xs)].sort((a, b) => b.length - a.length);
  const given = byLength(
    hints
      .split(/[,;|]/)
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean),
  );
  // The name competes with the dictionary: "total ttc" is tried before a field named "total".
  return [
    ...given,
    ...byLength([words, ...builtInLabels(field)]).filter((l) => !given.includes(l)),
  ];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The text after a label on a line: up to the next wide gap (a column break). */
function afterLabel(
  line: string,
  label: string,
): { rest: string; next: string; colon: boolean } | null {
  // Whole words only: "Rechnung" is not a label inside "Beispiel-Rechnungen".
  const re = new RegExp(
    `(?:^|[^\\p{L}\\p{N}])${escape(label).replace(/ /g, '\\s+')}(?![\\p{L}\\p{N}])\\s*(#|no\\.?)?\\s*([:=\\-–]?)`,
    'iu',
  );
  const m = re.exec(line);
  if (!m) return null;
  const rest = line.slice(m.index + m[0].length).replace(/^\s+/, '');
  const cells = rest.split(/\s{3,}/);
  return { rest: cells[0] ?? '', next: cells[1] ?? '', colon: m[2] !== '' };
}

/**
 * Rule-based extraction of typed fields from a document's text lines: a value is looked for
 * after one of the field's labels (same line, else the next), then parsed by its data type;
 * a few types distinctive enough (emails, dates, ...) are also taken when the document holds
 * exactly one of them. Confidence says which of those paths found the value and how cleanly
 * it parsed; a field not found is `null` with confidence 0.
 */
export interface Layout {
  /** Per line, its cells with their x positions (PDF.js or OCR). */
  cells?: TextCell[][];
  /** Per line, the OCR confidence of a recognised line; null for the text layer. */
  ocr?: Array<number | null>;
  /** The currency of amounts when the document names none (the job's setting). */
  defaultCurrency?: string | null;
}

export function extractFields(
  lines: string[],
  fields: JobFieldInput[],
  layout: Layout = {},
): Record<string, ExtractedValue> {
  const { cells, ocr } = layout;
  const out: Record<string, ExtractedValue> = {};
  const currency = documentCurrency(lines) ?? layout.defaultCurrency ?? null;
  for (const field of fields) {
    // A field that asks for the currency is answered by the document's.
    if (meaningOf(field) === 'currency' && field.dataType === 'text') {
      out[field.name] = currency
        ? { value: currency, confidence: 0.8, raw: currency }
        : { value: null, confidence: 0, raw: null };
      continue;
    }
    const v = extractOne(lines, field, cells, ocr);
    // An amount printed without its currency is in the document's currency.
    const money = v.value as { amount?: number; currency?: string | null } | null;
    if (field.dataType === 'currency' && money && money.currency === null && currency)
      v.value = { ...money, currency };
    out[field.name] = v;
  }
  return out;
}

/** The currency a document is written in: the symbol or code it prints most often. */
export function documentCurrency(lines: string[]): string | null {
  const counts = new Map<string, number>();
  const codes = new RegExp(`\\b(${CURRENCY_CODES.join('|')})\\b|([$€£¥₹])`, 'g');
  for (const line of lines)
    for (const m of line.matchAll(codes)) {
      const c = m[1] ?? CURRENCY_SYMBOLS[m[2]];
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
  let best: string | null = null;
  for (const [c, n] of counts) if (!best || n > counts.get(best)!) best = c;
  return best;
}

/**
 * The text below a label: on the next line with text in the label's column, the first cell
 * that reaches into that column (two-column headers put "Rechnungsnummer" over a value on a
 * line that starts with the other column's address); without positions, the next line's
 * first cell.
 */
function below(
  lines: string[],
  cells: TextCell[][] | undefined,
  i: number,
  label: string,
): string[] {
  const out: string[] = [];
  const row = cells?.[i];
  const at = row?.find((c) => afterLabel(c.text, label) !== null);
  for (const j of [i + 1, i + 2]) {
    if (j >= lines.length) break;
    const next = cells?.[j];
    if (at && next?.length) {
      // In the label's column or right of it (values are often right-aligned under it).
      const cell = next.find((c) => c.x1 > at.x0 - 5);
      if (cell) {
        out.push(cell.text);
        break;
      }
    } else if (j === i + 1) out.push(lines[j].split(/\s{3,}/)[0]);
  }
  return out;
}

/** A value read from line `at`: from a scan, OCR's confidence in that line scales its own. */
function fromLine(v: ExtractedValue, at: number, ocr?: Array<number | null>): ExtractedValue {
  const q = ocr?.[at];
  if (q === null || q === undefined) return v;
  return { ...v, confidence: round(v.confidence * q), source: 'ocr' };
}

function extractOne(
  lines: string[],
  field: JobFieldInput,
  cells?: TextCell[][],
  ocr?: Array<number | null>,
): ExtractedValue {
  const parse = PARSERS[field.dataType];
  if (!parse) return { value: null, confidence: 0, raw: null };
  for (const label of labelsOf(field)) {
    for (let i = 0; i < lines.length; i++) {
      const hit = afterLabel(lines[i], label);
      if (!hit) continue;
      let found: Parsed | null = hit.rest ? parse(hit.rest) : null;
      // A qualifier between label and value ("Brutto (inkl. USt.)   529,87"): the next cell.
      if (!found && hit.next && /^\(.*\)$/.test(hit.rest.trim())) found = parse(hit.next);
      let base = hit.colon ? 0.95 : 0.85;
      if (!found && !hit.rest.trim()) {
        for (const text of below(lines, cells, i, label)) {
          found = parse(text);
          base = 0.75;
          if (found) break;
        }
      }
      if (found) {
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
  if (SELF_EVIDENT.has(field.dataType)) {
    const seen = new Map<string, { p: Parsed; at: number }>();
    lines.forEach((line, at) => {
      for (const chunk of line.split(/\s{3,}/)) {
        const p = parse(chunk);
        if (p && !seen.has(JSON.stringify(p.value))) seen.set(JSON.stringify(p.value), { p, at });
      }
    });
    if (seen.size >= 1) {
      const { p, at } = [...seen.values()][0];
      return fromLine(
        {
          value: p.value,
          confidence: round((seen.size === 1 ? 0.6 : 0.3) * p.quality),
          raw: p.raw,
        },
        at,
        ocr,
      );
    }
  }
  return { value: null, confidence: 0, raw: null };
}

const round = (n: number) => Math.round(n * 100) / 100;
