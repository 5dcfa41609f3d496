import { stringify } from 'csv-stringify/sync';
import ExcelJS from 'exceljs';
import type { JobFieldView, ResultView } from '@app/contracts';

/** A column's kind: money is an amount (a number) beside its currency, a date is a date. */
type Kind = 'text' | 'number' | 'date';

export interface ResultTable {
  header: string[];
  kinds: Kind[];
  rows: unknown[][];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

interface Column {
  field: string;
  part: 'value' | 'amount' | 'currency';
  name: string;
  kind: Kind;
}

function kindOf(dataType: string): Kind {
  if (dataType === 'date') return 'date';
  return ['number', 'integer', 'percentage'].includes(dataType) ? 'number' : 'text';
}

/** A cell's text for CSV: values as the extractor normalised them. */
export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/**
 * The table of a run: one row per file, a column per field (a money field as its amount and
 * a `<name>_currency` column beside it), one per field's confidence, then the error.
 */
export function resultTable(fields: JobFieldView[], results: ResultView[]): ResultTable {
  const cols = fields.flatMap((f): Column[] =>
    f.dataType === 'currency'
      ? [
          { field: f.name, part: 'amount', name: f.name, kind: 'number' },
          { field: f.name, part: 'currency', name: `${f.name}_currency`, kind: 'text' },
        ]
      : [{ field: f.name, part: 'value', name: f.name, kind: kindOf(f.dataType) }],
  );
  const header = [
    'file_name',
    'source_type',
    'status',
    ...cols.map((c) => c.name),
    ...fields.map((f) => `${f.name}_confidence`),
    'error',
  ];
  const kinds: Kind[] = [
    'text',
    'text',
    'text',
    ...cols.map((c) => c.kind),
    ...fields.map((): Kind => 'number'),
    'text',
  ];
  const rows = results.map((r): unknown[] => [
    r.fileName,
    r.sourceType,
    r.status,
    ...cols.map((c): unknown => {
      const v: unknown = r.data?.[c.field]?.value ?? null;
      if (c.part === 'value') return v;
      const money: { amount?: number; currency?: string | null } | null =
        typeof v === 'object' && v !== null ? v : null;
      return (c.part === 'amount' ? money?.amount : money?.currency) ?? null;
    }),
    ...fields.map((f) => r.data?.[f.name]?.confidence ?? null),
    r.error ?? '',
  ]);
  return { header, kinds, rows };
}

/**
 * A CSV cell a spreadsheet would run as a formula (`= + - @`, or a leading tab or CR) is
 * prefixed with `'`, as OWASP's CSV-injection guidance says; a plain number stays a number.
 */
export function csvSafe(cell: string): string {
  if (!/^[=+\-@\t\r]/.test(cell) || /^[-+]?\d+(\.\d+)?$/.test(cell)) return cell;
  return `'${cell}`;
}

export function toCsv(t: ResultTable): Buffer {
  const table = [t.header, ...t.rows.map((r) => r.map(cellText))].map((r) => r.map(csvSafe));
  // Quoted throughout, so a cell's own quote, comma or line break never splits it.
  return Buffer.from(stringify(table, { quoted_string: true }), 'utf8');
}

/** XLSX with typed cells: amounts and confidences as numbers, dates as dates (yyyy-mm-dd). */
export async function toXlsx(t: ResultTable): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  wb.created = new Date(0);
  const ws = wb.addWorksheet('Results');
  ws.addRow(t.header).font = { bold: true };
  for (const r of t.rows)
    ws.addRow(
      r.map((v, i) => {
        if (v === null || v === undefined) return null;
        if (t.kinds[i] === 'number' && typeof v === 'number') return v;
        if (t.kinds[i] === 'date' && typeof v === 'string' && ISO_DATE.test(v))
          return new Date(`${v}T00:00:00Z`);
        return typeof v === 'boolean' ? v : cellText(v);
      }),
    );
  t.kinds.forEach((k, i) => {
    if (k === 'date') ws.getColumn(i + 1).numFmt = 'yyyy-mm-dd';
  });
  ws.views = [{ state: 'frozen', ySplit: 1 }];
  return Buffer.from(await wb.xlsx.writeBuffer());
}
