import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ExtractedValue, JobFieldInput } from '@app/contracts';
import {
  type EInvoice,
  type Meaning,
  readEInvoice,
} from '../../apps/extraction/src/extract/einvoice';
import { extractFields } from '../../apps/extraction/src/extract/extractor';
import { eInvoiceValues } from '../../apps/extraction/src/extract/field-meanings';
import { pdfContent } from '../../apps/extraction/src/extract/pdf-text';

/**
 * bench/extraction-accuracy: how many invoice values each engine finds on the real invoices
 * in the corpus (`../shared/corpus/invoices`, or CORPUS_DIR). The ground truth of each
 * e-invoice is the XML it embeds; the text engine sees only the PDF's text, never the XML.
 * Engines: `rules` without hints (field names only), `rules` with hints (the labels a user
 * would write, in the invoices' languages), and the e-invoice reader (which reads that same
 * XML: it shows the plumbing from XML to typed values, not an independent accuracy). Then the
 * calibration of `rules`: per confidence band, the share of its values that are right.
 */
const CORPUS = process.env.CORPUS_DIR ?? resolve(process.cwd(), '..', 'shared', 'corpus');

const FIELDS: Array<{ field: JobFieldInput; meaning: Meaning; hints: string }> = [
  {
    field: { name: 'seller', dataType: 'text' },
    meaning: 'sellerName',
    hints: 'Lieferant, Verkäufer, Fournisseur, Vendeur, From',
  },
  {
    field: { name: 'invoice_number', dataType: 'text' },
    meaning: 'invoiceNumber',
    hints:
      'Rechnungsnummer, Rechnungs-Nr., Rechnung Nr., Numéro de facture, Facture N°, Invoice No',
  },
  {
    field: { name: 'invoice_date', dataType: 'date' },
    meaning: 'issueDate',
    hints: 'Rechnungsdatum, Datum, Date de facture, Date',
  },
  {
    field: { name: 'due_date', dataType: 'date' },
    meaning: 'dueDate',
    hints: 'Fälligkeitsdatum, Fällig am, Zahlbar bis, Échéance, Date d’échéance',
  },
  {
    field: { name: 'total', dataType: 'currency' },
    meaning: 'total',
    hints: 'Gesamtbetrag, Bruttobetrag, Rechnungsbetrag, Total TTC, Montant TTC, Total',
  },
  {
    field: { name: 'net_amount', dataType: 'currency' },
    meaning: 'net',
    hints: 'Nettobetrag, Summe netto, Total HT, Montant HT',
  },
  {
    field: { name: 'tax_amount', dataType: 'currency' },
    meaning: 'tax',
    hints: 'MwSt., Umsatzsteuer, USt., TVA, Total TVA',
  },
  {
    field: { name: 'vat_id', dataType: 'text' },
    meaning: 'sellerVatId',
    hints: 'USt-IdNr., USt.-Id.-Nr., Umsatzsteuer-ID, N° TVA, TVA intracommunautaire',
  },
  { field: { name: 'currency', dataType: 'text' }, meaning: 'currency', hints: 'Währung, Devise' },
];

const norm = (s: string) => s.toLowerCase().replace(/[\s.,:;'"()-]+/g, '');

/** Whether an engine's value is the XML's: amounts to the cent, dates and codes exactly. */
function right(meaning: Meaning, v: ExtractedValue | undefined, truth: EInvoice): boolean | null {
  const want = truth[meaning];
  if (want === undefined) return null; // nothing to score against
  if (!v || v.value === null || v.value === undefined) return false;
  if (typeof want === 'number') {
    const got = v.value as { amount?: number; currency?: string | null };
    if (typeof got?.amount !== 'number') return false;
    return (
      Math.abs(got.amount - want) < 0.005 && (!truth.currency || got.currency === truth.currency)
    );
  }
  const got = typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
  if (meaning === 'sellerName')
    return norm(got).includes(norm(want)) || norm(want).includes(norm(got));
  return norm(got) === norm(want);
}

async function main(): Promise<void> {
  const dir = join(CORPUS, 'invoices');
  const files = readdirSync(dir).filter((f) => f.endsWith('.pdf'));
  const engines = ['rules, no hints', 'rules, hints', 'e-invoice XML'] as const;
  const score = new Map<string, { right: number; total: number }>();
  const bands = new Map<string, { right: number; total: number }>();
  const add = (m: Map<string, { right: number; total: number }>, k: string, ok: boolean) => {
    const s = m.get(k) ?? { right: 0, total: 0 };
    s.total++;
    if (ok) s.right++;
    m.set(k, s);
  };
  let scored = 0;
  for (const f of files) {
    const { lines, cells, attachments } = await pdfContent(readFileSync(join(dir, f)));
    const xml = attachments.find((a) => /\.xml$/i.test(a.name));
    const truth = xml ? readEInvoice(Buffer.from(xml.content).toString('utf8')) : null;
    if (!truth) continue; // no ground truth to score against (the Hetzner invoice)
    scored++;
    const plain = FIELDS.map((x) => x.field);
    const hinted = FIELDS.map((x) => ({ ...x.field, description: `hints: ${x.hints}` }));
    const results = [
      extractFields(lines, plain, { cells }),
      extractFields(lines, hinted, { cells }),
      eInvoiceValues(truth, plain),
    ];
    results.forEach((values, e) => {
      for (const x of FIELDS) {
        const ok = right(x.meaning, values[x.field.name], truth);
        if (ok === null) continue;
        add(score, `${engines[e]}|${x.field.name}`, ok);
        add(score, `${engines[e]}|all`, ok);
        if (e < 2) {
          const c = values[x.field.name]?.confidence ?? 0;
          const band =
            c >= 0.9
              ? '≥ 0.9'
              : c >= 0.7
                ? '0.7–0.9'
                : c >= 0.5
                  ? '0.5–0.7'
                  : c > 0
                    ? '< 0.5'
                    : 'none (0)';
          add(bands, band, ok);
        }
      }
    });
  }
  const pct = (s?: { right: number; total: number }) =>
    s && s.total ? `${((100 * s.right) / s.total).toFixed(0)}% (${s.right}/${s.total})` : '-';
  console.log(
    `\nbench/extraction-accuracy: ${scored} e-invoices of the corpus scored against their own XML`,
  );
  console.log(`${'field'.padEnd(16)} ${engines.map((e) => e.padStart(18)).join(' ')}`);
  for (const x of [...FIELDS.map((y) => y.field.name), 'all'])
    console.log(
      `${x.padEnd(16)} ${engines.map((e) => pct(score.get(`${e}|${x}`)).padStart(18)).join(' ')}`,
    );
  console.log('\ncalibration of rules (both runs): confidence band → share right');
  for (const b of ['≥ 0.9', '0.7–0.9', '0.5–0.7', '< 0.5', 'none (0)'])
    console.log(`${b.padEnd(10)} ${pct(bands.get(b))}`);
  console.log(
    '\nThe e-invoice column reads the same XML the truth comes from: it checks the path from XML to typed values, not accuracy.',
  );
}

main().catch((err: unknown) => {
  console.error('bench failed:', (err as Error).message);
  process.exit(1);
});
