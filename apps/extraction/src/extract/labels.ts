import type { JobFieldInput } from '@app/contracts';
import { builtInLabels, fallbackLabels } from './field-meanings';
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
  const own = byLength([words, ...builtInLabels(field)]).filter((l) => !given.includes(l));
  return [
    ...given,
    ...own,
    ...byLength(fallbackLabels(field)).filter((l) => !given.includes(l) && !own.includes(l)),
  ];
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const patterns = new Map<string, RegExp>();

/**
 * A label as printed: whole words, case-insensitive, with any punctuation a layout puts
 * between or after its words ("USt.-Id.-Nr.", "Date d'échéance", "Summe inkl. USt:").
 */
function labelPattern(label: string): RegExp {
  let re = patterns.get(label);
  if (!re) {
    const words = label
      .split(/[\s.\-'’/]+/)
      .filter(Boolean)
      .map((w) => escape(w));
    // Not inside a word, nor the end of a compound ("Art-Nr-Lieferant" is no "Lieferant").
    re = new RegExp(
      `(?<![\\p{L}\\p{N}]|[\\p{L}\\p{N}][-‐])${words.join("[\\s.\\-'’/]*")}\\.?(?![\\p{L}\\p{N}])\\s*(#|no\\.?|nr\\.?|n°)?\\s*(:|=|[-–](?=\\s))?`,
      'iu',
    );
    patterns.set(label, re);
  }
  return re;
}

export interface LabelHit {
  /** The text after the label up to the next wide gap (a column break). */
  rest: string;
  /** The cell after that. */
  next: string;
  /** The label ended in a colon or equals sign (a surer sign a value follows). */
  colon: boolean;
  /** Where the label starts in the line. */
  at: number;
  /** The text before the label in its cell ("Ihre" in "Ihre USt.-IdNr."). */
  before: string;
}

/** The label on this line and what follows it, or null. */
export function afterLabel(line: string, label: string): LabelHit | null {
  const m = labelPattern(label).exec(line);
  if (!m) return null;
  const rest = line.slice(m.index + m[0].length).replace(/^\s+/, '');
  const cells = rest.split(/\s{3,}/);
  const before =
    line
      .slice(0, m.index)
      .split(/\s{3,}/)
      .pop() ?? '';
  return { rest: cells[0] ?? '', next: cells[1] ?? '', colon: !!m[2], at: m.index, before };
}

/**
 * The text below a label: on the next lines with text in the label's column, the first cell
 * that reaches into that column (two-column headers put "Rechnungsnummer" over a value on a
 * line that starts with the other column's address); without positions, the next line's
 * first cell.
 */
export function below(
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
      if (cell) out.push(cell.text);
    } else if (j === i + 1) out.push(lines[j].split(/\s{3,}/)[0]);
  }
  return out;
}

/**
 * The cells under a column header, row by row, while each row has one in the header's
 * column (a table's rows; its last is where a sum sits). Needs positions.
 */
export function column(
  cells: TextCell[][] | undefined,
  i: number,
  label: string,
  limit = 30,
): string[] {
  if (!cells) return [];
  // The header's own word where the text layer has it ("Nettobetrag" among a row of headers
  // set close together), else its cell.
  const head =
    cells[i].flatMap((c) => c.parts ?? []).find((p) => afterLabel(p.text, label) !== null) ??
    cells[i].find((c) => afterLabel(c.text, label) !== null);
  if (!head) return [];
  const out: string[] = [];
  for (let j = i + 1; j < Math.min(cells.length, i + 1 + limit); j++) {
    // The value under the header: overlapping its span (right- or left-aligned).
    const under = cells[j]
      .flatMap((c) => (c.parts?.length ? c.parts : [c]))
      .find((p) => p.x1 > head.x0 - 5 && p.x0 < head.x1 + 5);
    if (!under) break;
    out.push(under.text);
  }
  return out;
}
