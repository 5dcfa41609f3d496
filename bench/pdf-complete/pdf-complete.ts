import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkRendering, fill } from '../../apps/pdf-workflow/src/pdf/pdf-fill';
import { type FormField, readFields } from '../../apps/pdf-workflow/src/pdf/pdf-forms';
import { devSealKey } from '../../apps/pdf-workflow/src/pdf/seal';
import { HEADER, loadHttp, row } from '../lib/load';
import { runBench, type Stack, withStack } from '../lib/stack';

/**
 * bench/pdf-complete: completing a workflow's last step on real forms (the corpus' ~700-field
 * pdf-lib form and the USCIS I-485). For each: how long `POST …/complete` takes to answer, and
 * how long until the flattened, sealed document is ready (the worker pool's fill, flatten and
 * seal), next to the same fill run bare in this process (the baseline, same run). Then ten
 * I-485s finalize at once while another pdf-workflow RPC (`GET /api/v1/workflows/stats`) is
 * timed, next to its idle figures.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 10);
const PORTS = { gateway: 3496, service: 3497 };
const CORPUS = process.env.CORPUS_DIR ?? resolve(process.cwd(), '..', 'shared', 'corpus');
const FORMS: Array<[string, string]> = [
  ['pdf-lib form, ~700 fields', 'pdflib_with_combed_fields.pdf'],
  ['USCIS I-485, 723 fields', 'uscis_i-485_unlocked.pdf'],
];
const NAMES = ['Łukasz Wiśniewski', 'Ελένη Παπαδοπούλου', 'Иван Петров', '王小明', 'محمد علي'];

interface Prepared {
  id: string;
  last: string;
}

/** A value for every field that the save accepts (a name where it fits). */
function answers(fields: FormField[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  fields.forEach((f, i) => {
    if (f.type === 'checkbox') out[f.name] = i % 2 === 0;
    else if (f.type === 'radio' || f.type === 'dropdown')
      out[f.name] = f.options![f.options!.length - 1];
    else if (f.type === 'listbox') out[f.name] = [f.options![0]];
    else if (f.type === 'signature') out[f.name] = 'Eleanor Rigby';
    else if (f.type === 'text') {
      const v = [NAMES[i % NAMES.length], 'Ab 12', 'X1', '7'].find(
        (c) => [...c].length <= (f.maxLength ?? Infinity) && checkRendering(f, c) === null,
      );
      if (v !== undefined) out[f.name] = v;
    }
  });
  return out;
}

async function main(): Promise<void> {
  const seal = await devSealKey('bench seal', 'bench');
  await withStack(
    'pc',
    {
      service: 'pdf-workflow',
      ports: PORTS,
      serviceEnv: {
        LINK_SECRET: 'bench-link-secret-of-at-least-32-characters',
        JOBS_ENABLED: 'false',
        SEAL_P12: Buffer.from(seal.p12).toString('base64'),
        SEAL_P12_PASSPHRASE: seal.passphrase,
        PDF_WORKER_QUEUE: '256',
        PDF_TASK_TIMEOUT_MS: '120000',
      },
    },
    (stack) => measure(stack, seal),
  );
}

async function measure(stack: Stack, seal: Awaited<ReturnType<typeof devSealKey>>) {
  const gw = stack.gatewayUrl;
  const json = { 'content-type': 'application/json' };
  const api = { ...json, 'x-api-key': stack.key };
  const call = async (method: string, path: string, body?: object, headers = json) => {
    const r = await fetch(`${gw}${path}`, {
      method,
      // No body, no content type (an empty JSON body is refused).
      headers: body
        ? headers
        : Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'content-type')),
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return {
      status: r.status,
      body: r.headers.get('content-type')?.includes('json')
        ? await r.json()
        : await r.arrayBuffer(),
    };
  };
  const until = async (what: () => Promise<boolean>) => {
    for (let i = 0; i < 6000; i++) {
      if (await what()) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error('timed out waiting');
  };

  /** A workflow on `pdf` with every step but the last completed and its document filled. */
  const prepare = async (pdf: Buffer, fields: FormField[], values: Record<string, unknown>) => {
    const names = fields.map((f) => f.name).filter((n) => n in values);
    const n = Math.max(2, Math.ceil(names.length / 200));
    const parts = Array.from({ length: n }, (_, i) => names.filter((_, j) => j % n === i));
    const created = await call(
      'POST',
      '/api/v1/workflows',
      {
        pdfBase64: pdf.toString('base64'),
        recipients: parts.map((p, i) => ({
          type: 'CUSTOM',
          name: `R${i}`,
          email: `r${i}@example.org`,
          fields: p,
        })),
      },
      api,
    );
    if (created.status !== 201) throw new Error(`create answered ${created.status}`);
    const { workflow, links } = created.body as {
      workflow: { id: string };
      links: Array<{ url: string }>;
    };
    const paths = links.map((l) => new URL(l.url).pathname);
    for (const [i, p] of paths.entries()) {
      const formData = Object.fromEntries(parts[i].map((k) => [k, values[k]]));
      const saved = await call('PATCH', `${p}/form-data`, { formData });
      if (saved.status !== 200) throw new Error(`save answered ${saved.status}`);
      if (i === paths.length - 1) break;
      const done = await call('POST', `${p}/complete`);
      if (done.status !== 200) throw new Error(`complete answered ${JSON.stringify(done.body)}`);
      // The next recipient's document (the answers so far) is filled before they go on.
      await until(async () => (await call('GET', `${paths[i + 1]}/document`)).status === 200);
    }
    return { id: workflow.id, last: paths[paths.length - 1] };
  };
  const ready = (id: string) => async () =>
    (await call('GET', `/api/v1/workflows/${id}/document`, undefined, api)).status === 200;

  console.log(`\nbench/pdf-complete: ${RUNS} runs per form; times in ms (median of the runs)`);
  console.log(
    `${'form'.padEnd(28)} ${'fields'.padStart(6)} ${'complete answers'.padStart(17)} ${'sealed doc ready'.padStart(17)} ${'bare fill+seal'.padStart(15)}`,
  );
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  let i485: { pdf: Buffer; fields: FormField[]; values: Record<string, unknown> } | undefined;
  for (const [label, file] of FORMS) {
    const pdf = readFileSync(join(CORPUS, 'forms', file));
    const fields = await readFields(pdf);
    const values = answers(fields);
    if (file.startsWith('uscis_i-485')) i485 = { pdf, fields, values };
    const answered: number[] = [];
    const sealed: number[] = [];
    const bare: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      const w = await prepare(pdf, fields, values);
      const t0 = performance.now();
      const done = await call('POST', `${w.last}/complete`);
      answered.push(performance.now() - t0);
      if ((done.body as { workflowStatus?: string }).workflowStatus !== 'FINALIZING')
        throw new Error(`complete answered ${JSON.stringify(done.body)}`);
      await until(ready(w.id));
      sealed.push(performance.now() - t0);
      const b0 = performance.now();
      await fill(pdf, values, { flatten: true, seal });
      bare.push(performance.now() - b0);
    }
    console.log(
      `${label.padEnd(28)} ${String(fields.length).padStart(6)} ${median(answered).toFixed(0).padStart(17)} ${median(sealed).toFixed(0).padStart(17)} ${median(bare).toFixed(0).padStart(15)}`,
    );
  }

  // PARALLEL I-485s finalize at once; another RPC of the same service is timed meanwhile.
  const prepared: Prepared[] = [];
  for (let k = 0; k < PARALLEL; k++)
    prepared.push(await prepare(i485!.pdf, i485!.fields, i485!.values));
  const stats = () => '/api/v1/workflows/stats';
  const auth = { 'x-api-key': stack.key };
  await loadHttp(gw, stats, 1, 1, auth);
  const idle = await loadHttp(gw, stats, 1, SECONDS, auth);
  const t0 = performance.now();
  const answers10 = await Promise.all(
    prepared.map(async (w) => {
      const a0 = performance.now();
      await call('POST', `${w.last}/complete`);
      return performance.now() - a0;
    }),
  );
  const loaded = await loadHttp(gw, stats, 1, SECONDS, auth);
  await Promise.all(prepared.map((w) => until(ready(w.id))));
  const allReady = performance.now() - t0;
  console.log(
    `\n${PARALLEL} I-485 completions at once: answered in ${Math.max(...answers10).toFixed(0)} ms (slowest); all ${PARALLEL} sealed documents ready after ${(allReady / 1000).toFixed(1)} s`,
  );
  console.log(HEADER);
  console.log(row('stats RPC, idle (baseline)', idle, 1));
  console.log(row(`stats RPC, ${PARALLEL} finalizing`, loaded, 1));
  console.log(`p99 finalizing / idle: ${(loaded.p99 / idle.p99).toFixed(2)}x`);
}

runBench(main);
