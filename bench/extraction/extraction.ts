import { type ChildProcess, fork } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { SERVICES } from '@app/contracts';
import { RpcClient } from '@app/messaging';
import { FsStorage, streamToBuffer } from '@app/storage';
import {
  expectedValues,
  INVOICE_FIELDS,
  invoicePdf,
  sampleInvoice,
} from '../../libs/testing/src/invoices';
import { scannedPdf } from '../../libs/testing/src/scans';
import { extractFields } from '../../apps/extraction/src/extract/extractor';
import { pdfLines } from '../../apps/extraction/src/extract/pdf-text';
import { type BenchDatabase, benchDatabase } from '../lib/database';
import { startApp, waitOk } from '../lib/load';

/**
 * bench/extraction: one run of a job over 1,000 generated invoice PDFs, worked off the queue
 * by one extraction worker and then by two (separate processes, as replicas would be), each
 * timed from the run's start to its last task. The one-worker run is the baseline; the ratio
 * says whether the work scales out. Every result is checked against the invoice it came from.
 *
 * Then the same for scanned invoices (pages with no text layer, OCR'd in the worker pool):
 * pages per second by one worker and by two, every total checked.
 *
 * The machine's own ceiling is measured in the same run: the bare extraction (no queue, no
 * database) in one process and then in two at once. On a shared two-core machine that also
 * runs Postgres and RabbitMQ, two processes never get twice one's work done; the queue's ratio
 * is read against that one.
 */
const FILES = Number(process.env.BENCH_FILES ?? 1000);
/** Scanned invoices (one page each, no text layer) for the OCR phases. */
const SCANS = Number(process.env.BENCH_SCANS ?? 24);
const PAGES = Number(process.env.BENCH_PAGES ?? 2);
const BASE_PORT = Number(process.env.BENCH_PORT ?? 3590);
const TENANT = 'bench';
const ACTOR = { tenantId: TENANT, callerId: 'bench-user', keyId: 'bench-user' };
const USER = `${TENANT}/bench-user`;

interface Phase {
  workers: number;
  seconds: number;
  filesPerSecond: number;
}

async function main(): Promise<void> {
  let database: BenchDatabase | undefined;
  let workers: ChildProcess[] = [];
  const storageRoot = await mkdtemp(join(tmpdir(), 'bench-extraction-'));
  const prefix = `bench${process.pid}.`;
  const rabbitUrl = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
  const rpc = new RpcClient({ url: rabbitUrl, prefix, timeoutMs: 60_000 });
  try {
    database = await benchDatabase('ex', 'extraction');
    const pool = new Pool({
      connectionString: database.url,
      max: 4,
      options: '-c search_path=extraction',
    });

    // The files: generated invoices, stored content-addressed as the service stores uploads.
    const t0 = performance.now();
    const storage = new FsStorage(storageRoot);
    const files: Array<{ n: number; key: string; hash: string; size: number }> = [];
    for (let n = 0; n < FILES; n++) {
      const pdf = await invoicePdf(sampleInvoice(n), PAGES);
      const hash = createHash('sha256').update(pdf).digest('hex');
      const key = `files/sha256/${hash.slice(0, 2)}/${hash}.pdf`;
      await storage.put(key, pdf, 'application/pdf');
      files.push({ n, key, hash, size: pdf.length });
    }
    await pool.query(`INSERT INTO users (id) VALUES ($1)`, [USER]);
    const job = await createJob(pool, 'Bench invoices', files);
    console.log(
      `${FILES} invoice PDFs of ${PAGES} page(s) generated and stored in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    // The machine's ceiling: the bare extraction in one process, then in two at once.
    const list = join(storageRoot, 'keys.json');
    await writeFile(list, JSON.stringify(files.map((f) => f.key)));
    const bare: number[] = [];
    for (const count of [1, 2]) {
      const start = performance.now();
      await Promise.all(
        Array.from({ length: count }, (_, i) =>
          bareExtraction(
            list,
            storageRoot,
            Math.floor((i * FILES) / count),
            Math.floor(((i + 1) * FILES) / count),
          ),
        ),
      );
      bare.push(FILES / ((performance.now() - start) / 1000));
      console.log(
        `bare extraction, ${count} process(es): ${bare[bare.length - 1].toFixed(1)} files/s`,
      );
    }

    // Scans: the first invoices rendered to images, stored as a job of their own.
    const scans: typeof files = [];
    for (let n = 0; n < SCANS; n++) {
      const pdf = await scannedPdf(await invoicePdf(sampleInvoice(n)));
      const hash = createHash('sha256').update(pdf).digest('hex');
      const key = `files/sha256/${hash.slice(0, 2)}/${hash}.pdf`;
      await storage.put(key, pdf, 'application/pdf');
      scans.push({ n, key, hash, size: pdf.length });
    }
    const scanJob = await createJob(pool, 'Bench scans', scans);

    const env = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      DATABASE_URL: database.url,
      RABBITMQ_URL: rabbitUrl,
      MESSAGING_PREFIX: prefix,
      STORAGE_ROOT: storageRoot,
      OAUTH_STATE_SECRET: randomBytes(32).toString('base64url'),
      JOBS_ENABLED: 'false',
    };
    const entry = join(__dirname, '..', '..', 'apps', 'extraction', 'src', 'main.js');
    const phase = (count: number, jobId: string, total: number, check: Check) =>
      runPhase({
        entry,
        env,
        rpc,
        pool,
        count,
        jobId,
        total,
        check,
        started: (w) => (workers = w),
      });
    const phases: Phase[] = [];
    for (const count of [1, 2]) phases.push(await phase(count, job.id, FILES, allValues));
    workers = [];
    const ocr: Phase[] = [];
    for (const count of [1, 2]) ocr.push(await phase(count, scanJob.id, SCANS, totalOnly));
    workers = [];

    const [one, two] = phases;
    console.log('');
    console.log(`${'workers'.padEnd(10)} ${'seconds'.padStart(8)} ${'files/s'.padStart(9)}`);
    for (const p of phases)
      console.log(
        `${String(p.workers).padEnd(10)} ${p.seconds.toFixed(2).padStart(8)} ${p.filesPerSecond.toFixed(1).padStart(9)}`,
      );
    const ratio = two.filesPerSecond / one.filesPerSecond;
    const ceiling = bare[1] / bare[0];
    console.log(`ratio two/one: ${ratio.toFixed(2)}x (the one-worker run is the baseline)`);
    console.log(
      `machine ceiling (bare extraction, two processes/one): ${ceiling.toFixed(2)}x; the queue reaches ${((100 * (ratio - 1)) / (ceiling - 1)).toFixed(0)}% of the gain the machine allows`,
    );
    console.log('');
    console.log(`OCR (scanned, one page each, no text layer): ${SCANS} pages`);
    for (const p of ocr)
      console.log(
        `${String(p.workers).padEnd(10)} ${p.seconds.toFixed(2).padStart(8)} ${p.filesPerSecond.toFixed(2).padStart(9)} pages/s`,
      );
    console.log(
      `OCR ratio two/one: ${(ocr[1].filesPerSecond / ocr[0].filesPerSecond).toFixed(2)}x; OCR page vs text file (one worker): ${(phases[0].filesPerSecond / ocr[0].filesPerSecond).toFixed(0)}x the time`,
    );
    await pool.end();
  } finally {
    await stopAll(workers);
    await rpc.close().catch(() => undefined);
    await database?.drop();
    await rm(storageRoot, { recursive: true, force: true });
  }
}

type Check = (n: number, data: Record<string, { value: unknown }>) => boolean;
const allValues: Check = (n, data) =>
  Object.entries(expectedValues(sampleInvoice(n))).every(
    ([k, v]) => JSON.stringify(data[k]?.value) === JSON.stringify(v),
  );
/** A scan is checked on its total (OCR may read a character of another field differently). */
const totalOnly: Check = (n, data) =>
  JSON.stringify(data.total?.value) === JSON.stringify(expectedValues(sampleInvoice(n)).total);

async function createJob(
  pool: Pool,
  name: string,
  files: Array<{ n: number; key: string; hash: string; size: number }>,
): Promise<{ id: string }> {
  const {
    rows: [job],
  } = await pool.query<{ id: string }>(
    `INSERT INTO extraction_jobs (user_id, name, tenant_id) VALUES ($1, $2, $3) RETURNING id`,
    [USER, name, TENANT],
  );
  await pool.query(
    `INSERT INTO job_fields (job_id, field_name, data_type_id, description, display_order)
       SELECT $1, f.name, f."dataType", f.description, f.ord
         FROM jsonb_to_recordset($2::jsonb) AS f(name text, "dataType" text, description text, ord int)`,
    [job.id, JSON.stringify(INVOICE_FIELDS.map((f, ord) => ({ ...f, ord })))],
  );
  await pool.query(
    `INSERT INTO source_files (job_id, original_filename, storage_key, file_type, file_size, content_hash, uploaded_at)
       SELECT $1, 'invoice-' || f.n || '.pdf', f.key, 'application/pdf', f.size, f.hash, now() + f.n * interval '1 ms'
         FROM jsonb_to_recordset($2::jsonb) AS f(n int, key text, hash text, size int)`,
    [job.id, JSON.stringify(files)],
  );
  return job;
}

/** One run of the job by `count` workers (processes), timed from start to its last task. */
async function runPhase(o: {
  entry: string;
  env: Record<string, string>;
  rpc: RpcClient;
  pool: Pool;
  count: number;
  jobId: string;
  total: number;
  check: Check;
  started: (w: ChildProcess[]) => void;
}): Promise<Phase> {
  const { count, pool, rpc, total } = o;
  const workers = Array.from({ length: count }, (_, i) =>
    startApp(o.entry, { ...o.env, HEALTH_PORT: String(BASE_PORT + i) }),
  );
  o.started(workers);
  for (let i = 0; i < count; i++) await waitOk(`http://127.0.0.1:${BASE_PORT + i}/health/ready`);
  await rpc.connect(SERVICES.filter((s) => s === 'extraction'));
  const start = performance.now();
  const run = await rpc.send('extraction.run.start.v1', { actor: ACTOR, jobId: o.jobId });
  let status = run.status;
  while (!['completed', 'partially_completed', 'failed'].includes(status)) {
    await new Promise((r) => setTimeout(r, 50));
    const { rows } = await pool.query<{ status: string }>(
      `SELECT status FROM job_runs WHERE id = $1`,
      [run.id],
    );
    status = rows[0].status as typeof status;
  }
  const seconds = (performance.now() - start) / 1000;
  const { rows: check } = await pool.query<{
    n: number;
    data: Record<string, { value: unknown }>;
  }>(
    `SELECT substring(s.original_filename from '\\d+')::int AS n, x.extracted_data AS data
       FROM extraction_results x JOIN source_files s ON s.id = x.source_file_id
      WHERE x.run_id = $1`,
    [run.id],
  );
  const wrong = check.filter((c) => !o.check(c.n, c.data)).length;
  if (status !== 'completed' || check.length !== total || wrong > 0)
    throw new Error(
      `run ${run.runNumber} ended ${status} with ${check.length} results, ${wrong} wrong`,
    );
  console.log(
    `run ${run.runNumber}: ${count} worker(s), ${total} files in ${seconds.toFixed(2)} s = ${(total / seconds).toFixed(1)} files/s (all ${total} results checked)`,
  );
  await stopAll(workers);
  return { workers: count, seconds, filesPerSecond: total / seconds };
}

/** Extracts files [from, to) of the list in a process of its own, without queue or database. */
function bareExtraction(list: string, root: string, from: number, to: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = fork(__filename, [], {
      env: {
        ...process.env,
        BENCH_ROLE: 'bare',
        BENCH_LIST: list,
        BENCH_ROOT: root,
        BENCH_FROM: String(from),
        BENCH_TO: String(to),
      },
      stdio: 'inherit',
    });
    p.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`bare extraction exited ${code}`)),
    );
  });
}

async function bare(): Promise<void> {
  const keys = (JSON.parse(await readFile(process.env.BENCH_LIST!, 'utf8')) as string[]).slice(
    Number(process.env.BENCH_FROM),
    Number(process.env.BENCH_TO),
  );
  const storage = new FsStorage(process.env.BENCH_ROOT!);
  for (const key of keys)
    extractFields(await pdfLines(await streamToBuffer(await storage.get(key))), INVOICE_FIELDS);
}

async function stopAll(ps: ChildProcess[]): Promise<void> {
  await Promise.all(
    ps.map(
      (p) =>
        new Promise<void>((resolve) => {
          if (p.exitCode !== null) return resolve();
          p.once('exit', () => resolve());
          p.kill('SIGTERM');
        }),
    ),
  );
}

(process.env.BENCH_ROLE === 'bare' ? bare() : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
