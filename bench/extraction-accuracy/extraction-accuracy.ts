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
import { fitCalibration } from '../../apps/extraction/src/extract/calibration';
import { ModelEngine } from '../../apps/extraction/src/extract/model/model-engine';
import type { ExtractionConfig } from '../../apps/extraction/src/config';
import { createUpstreamSim } from '../../apps/upstream-sim/src/sim';
import { generatedInvoice } from './generated';

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

/**
 * The one corpus invoice without XML, its values as a person reads them off the page. Its
 * seller's VAT number is the footer's (beside the company's register entry); the one by the
 * customer number in the header is the customer's.
 */
const READ_OFF_THE_PAGE: Record<string, EInvoice> = {
  'unstructured_RE-E-974-Hetzner_2016-01-19_R0005532486.pdf': {
    syntax: 'CII',
    sellerName: 'Hetzner Online GmbH',
    invoiceNumber: 'R0005532486',
    issueDate: '2016-01-19',
    dueDate: '2016-01-22',
    currency: 'EUR',
    net: 87.39,
    tax: 16.61,
    total: 104,
    sellerVatId: 'DE812871812',
  },
};

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

type Tally = Map<string, { right: number; total: number }>;
const add = (m: Tally, k: string, ok: boolean) => {
  const s = m.get(k) ?? { right: 0, total: 0 };
  s.total++;
  if (ok) s.right++;
  m.set(k, s);
};
const BANDS = ['≥ 0.9', '0.7–0.9', '0.5–0.7', '< 0.5', 'none (0)'];
const bandOf = (c: number) =>
  c >= 0.9 ? BANDS[0] : c >= 0.7 ? BANDS[1] : c >= 0.5 ? BANDS[2] : c > 0 ? BANDS[3] : BANDS[4];

interface Doc {
  name: string;
  lines: string[];
  cells: Awaited<ReturnType<typeof pdfContent>>['cells'];
  truth: EInvoice;
}

/** A document set's score per engine and field, and the rules' calibration. */
async function score(
  docs: Doc[],
  model: ModelEngine,
  fitting: Array<{ raw: number; right: boolean }>,
) {
  const engines = ['rules, no hints', 'rules, hints', 'model (simulator)'] as const;
  const tally: Tally = new Map();
  const bands: Tally = new Map();
  const plain = FIELDS.map((x) => x.field);
  const hinted = FIELDS.map((x) => ({ ...x.field, description: `hints: ${x.hints}` }));
  for (const d of docs) {
    const raw = [
      extractFields(d.lines, plain, { cells: d.cells, rawConfidence: true }),
      extractFields(d.lines, hinted, { cells: d.cells, rawConfidence: true }),
    ];
    const runs = [
      extractFields(d.lines, plain, { cells: d.cells }),
      extractFields(d.lines, hinted, { cells: d.cells }),
      // The simulator finds labels the fields name or hint: it is asked with hints.
      (await model.extract(d.lines, hinted, null)).values,
    ];
    runs.forEach((values, e) => {
      for (const x of FIELDS) {
        const ok = right(x.meaning, values[x.field.name], d.truth);
        if (ok === null) continue;
        add(tally, `${engines[e]}|${x.field.name}`, ok);
        add(tally, `${engines[e]}|all`, ok);
        if (e < 2) {
          add(bands, bandOf(values[x.field.name]?.confidence ?? 0), ok);
          fitting.push({ raw: raw[e][x.field.name]?.confidence ?? 0, right: ok });
        }
      }
    });
  }
  return { engines, tally, bands };
}

function report(title: string, r: Awaited<ReturnType<typeof score>>, extra?: Tally): void {
  const pct = (s?: { right: number; total: number }) =>
    s && s.total ? `${((100 * s.right) / s.total).toFixed(0)}% (${s.right}/${s.total})` : '-';
  const columns = [...r.engines, ...(extra ? ['e-invoice XML'] : [])];
  console.log(`\n${title}`);
  console.log(`${'field'.padEnd(16)} ${columns.map((e) => e.padStart(19)).join(' ')}`);
  for (const x of [...FIELDS.map((y) => y.field.name), 'all'])
    console.log(
      `${x.padEnd(16)} ${columns
        .map((e) => pct((e === 'e-invoice XML' ? extra : r.tally)?.get(`${e}|${x}`)).padStart(19))
        .join(' ')}`,
    );
  console.log('calibration of rules (both runs): confidence band → share right');
  const exact = (s?: { right: number; total: number }) =>
    s && s.total ? `${((100 * s.right) / s.total).toFixed(1)}% (${s.right}/${s.total})` : '-';
  for (const b of BANDS) console.log(`  ${b.padEnd(10)} ${exact(r.bands.get(b))}`);
}

async function main(): Promise<void> {
  const fit = process.argv.includes('--fit');
  const dir = join(CORPUS, 'invoices');
  const corpus: Doc[] = [];
  const xmlTally: Tally = new Map();
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.pdf'))) {
    const { lines, cells, attachments } = await pdfContent(readFileSync(join(dir, f)));
    const xml = attachments.find((a) => /\.xml$/i.test(a.name));
    const read = READ_OFF_THE_PAGE[f];
    const truth = xml ? readEInvoice(Buffer.from(xml.content).toString('utf8')) : (read ?? null);
    if (!truth) continue; // nothing to score against
    corpus.push({ name: f, lines, cells, truth });
    if (read) continue; // no XML: nothing for the e-invoice reader
    const values = eInvoiceValues(
      truth,
      FIELDS.map((x) => x.field),
    );
    for (const x of FIELDS) {
      const ok = right(x.meaning, values[x.field.name], truth);
      if (ok === null) continue;
      add(xmlTally, `e-invoice XML|${x.field.name}`, ok);
      add(xmlTally, 'e-invoice XML|all', ok);
    }
  }
  const generated: Doc[] = [];
  for (let n = 0; n < 24; n++) {
    const g = await generatedInvoice(n);
    const { lines, cells } = await pdfContent(g.pdf);
    generated.push({ name: g.name, lines, cells, truth: g.truth });
  }
  // The model engine against the OpenAI-compatible simulator, in this process.
  const sim = createUpstreamSim();
  await sim.app.listen({ port: 0, host: '127.0.0.1' });
  const port = (sim.app.server.address() as { port: number }).port;
  const model = new ModelEngine({
    MODEL_BASE_URL: `http://127.0.0.1:${port}/openai/v1`,
    MODEL_NAME: 'simulator',
    MODEL_API_KEY_HEADER: 'authorization',
    MODEL_TIMEOUT_MS: 10_000,
    MODEL_MAX_RETRIES: 0,
    MODEL_MAX_INPUT_TOKENS: 30_000,
    MODEL_MAX_OUTPUT_TOKENS: 2_000,
    MODEL_INPUT_USD_PER_MTOK: 0,
    MODEL_OUTPUT_USD_PER_MTOK: 0,
  } as ExtractionConfig);
  const fitting: Array<{ raw: number; right: boolean }> = [];
  try {
    const c = await score(corpus, model, fitting);
    report(
      `bench/extraction-accuracy: the corpus' ${corpus.length} invoices, scored against their own XML (the Hetzner invoice, which has none, against its values read off the page)`,
      c,
      xmlTally,
    );
    const g = await score(generated, model, fitting);
    report(
      `generated invoices (${generated.length}: German, French, English, Dutch; three layouts), scored against the values drawn`,
      g,
    );
  } finally {
    await sim.app.close();
  }
  console.log(
    '\nThe model column measures the plumbing only: the simulator answers from labels in the text, it is not a model.',
  );
  console.log(
    'The e-invoice column reads the same XML the truth comes from: it checks the path from XML to typed values, not accuracy.',
  );
  if (fit)
    console.log(
      `\ncalibration fitted on both sets (paste into apps/extraction/src/extract/calibration.ts):\n${JSON.stringify(fitCalibration(fitting))}`,
    );
}

main().catch((err: unknown) => {
  console.error('bench failed:', (err as Error).message);
  process.exit(1);
});
