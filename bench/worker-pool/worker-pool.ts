import { PDFDocument } from 'pdf-lib';
import { HEADER, loadHttp, row } from '../lib/load';
import { runBench, type Stack, withStack } from '../lib/stack';

/**
 * bench/worker-pool: pdf-workflow's PDF filling runs in worker threads. While FILLS fills of
 * a 10,000-character multiline field run (pdf-lib's layout is minutes of CPU for that much
 * text, so each is stopped at PDF_TASK_TIMEOUT_MS), another RPC of the same service
 * (`GET /api/v1/workflows/stats`) is timed through the gateway and compared with its own
 * idle figures, measured in the same run. Target: loaded p99 within 2x idle p99.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const FILLS = Number(process.env.BENCH_FILLS ?? 20);
const TEXT_CHARS = 10_000;
const FILL_TIMEOUT_MS = Number(process.env.BENCH_FILL_TIMEOUT_MS ?? 6000);
const PORTS = { gateway: 3494, service: 3495 };

async function formPdf(): Promise<string> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([600, 800]);
  const notes = doc.getForm().createTextField('notes');
  notes.enableMultiline();
  notes.addToPage(page, { x: 20, y: 20, width: 560, height: 760 });
  return Buffer.from(await doc.save()).toString('base64');
}

async function main(): Promise<void> {
  await withStack(
    'wp',
    {
      service: 'pdf-workflow',
      ports: PORTS,
      serviceEnv: {
        LINK_SECRET: 'bench-link-secret-of-at-least-32-characters',
        JOBS_ENABLED: 'false',
        MULTILINE_FIELD_MAX_CHARS: String(TEXT_CHARS),
        PDF_TASK_TIMEOUT_MS: String(FILL_TIMEOUT_MS),
      },
    },
    (stack) => measureFills(stack),
  );
}

async function measureFills(stack: Stack): Promise<void> {
  const gw = stack.gatewayUrl;
  const headers = { 'x-api-key': stack.key, 'content-type': 'application/json' };
  const pdfBase64 = await formPdf();
  const text = Array.from({ length: TEXT_CHARS / 10 }, (_, i) => `word${i % 10} ok.`)
    .join(' ')
    .slice(0, TEXT_CHARS);

  // FILLS workflows, each with its one recipient's long answer saved.
  const links: string[] = [];
  for (let i = 0; i < FILLS; i++) {
    const created = await fetch(`${gw}/api/v1/workflows`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        pdfBase64,
        recipients: [
          { type: 'PATIENT', name: `P ${i}`, email: `p${i}@example.org`, fields: ['notes'] },
        ],
      }),
    });
    if (created.status !== 201) throw new Error(`create answered ${created.status}`);
    const { links: l } = (await created.json()) as { links: Array<{ url: string }> };
    const path = new URL(l[0].url).pathname;
    const saved = await fetch(`${gw}${path}/form-data`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ formData: { notes: text } }),
    });
    if (saved.status !== 200) throw new Error(`save answered ${saved.status}`);
    links.push(path);
  }

  const stats = () => '/api/v1/workflows/stats';
  const auth = { 'x-api-key': stack.key };
  await loadHttp(gw, stats, 1, 1, auth);
  const idle = await loadHttp(gw, stats, 1, SECONDS, auth);

  // The fills, all at once; the same RPC is timed while they run.
  let inFlight = FILLS;
  const outcomes: number[] = [];
  const fills = links.map((l) =>
    fetch(`${gw}${l}/complete`, { method: 'POST' }).then((r) => {
      inFlight--;
      outcomes.push(r.status);
    }),
  );
  const loaded = await loadHttp(gw, stats, 1, SECONDS, auth);
  const stillRunning = inFlight;
  const t0 = performance.now();
  await Promise.all(fills);
  const drainSeconds = (performance.now() - t0) / 1000;

  const counts = outcomes.reduce<Record<number, number>>(
    (acc, s) => ({ ...acc, [s]: (acc[s] ?? 0) + 1 }),
    {},
  );
  console.log(
    `\nbench/worker-pool: ${FILLS} fills of a ${TEXT_CHARS}-character multiline field, each stopped at ${FILL_TIMEOUT_MS} ms; ${SECONDS} s per run`,
  );
  console.log(HEADER);
  console.log(row('stats RPC, idle (baseline)', idle, 1));
  console.log(row(`stats RPC, ${FILLS} fills running`, loaded, 1));
  const ratio = loaded.p99 / idle.p99;
  console.log(
    `p99 loaded / idle: ${ratio.toFixed(2)}x (target <= 2x); fills still running when the window closed: ${stillRunning} of ${FILLS}; the rest answered within ${drainSeconds.toFixed(1)} s more`,
  );
  console.log(`fill answers: ${JSON.stringify(counts)} (422 = stopped at its deadline)`);
}

runBench(main);
