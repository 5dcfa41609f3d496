import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { MANIFEST_VIEW_SQL } from '../../apps/manifest-cache/src/manifests/manifests.repository';
import { benchDatabase, type BenchDatabase } from '../lib/database';
import { type Stack, startStack } from '../lib/stack';
import {
  currentRssMiB,
  HEADER,
  loadHttp,
  type LoadResult,
  measure,
  peakRssMiB,
  resetPeakRss,
  row,
  startApp,
  waitOk,
} from '../lib/load';

/**
 * bench/manifest-cache:
 *  (a) a cached manifest of 2,000 records read through the gateway, next to the bare SQL
 *      that builds it, measured in the same run;
 *  (b) a 500-document zip streamed through the gateway, with the streaming process's peak
 *      memory next to the zip's size.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const DIST = join(__dirname, '..', '..');
const KEY = `bench-key-${process.pid}-${Date.now()}`;
const PORTS = { gateway: 3690, service: 3691, sim: 3692 };
const USER = { 'css-id': 'BENCH', 'station-id': '101' };

async function api(
  method: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ data: { id: string; attributes: Record<string, unknown> } }> {
  const res = await fetch(`http://127.0.0.1:${PORTS.gateway}${path}`, {
    method,
    headers: { 'x-api-key': KEY, ...USER, ...headers },
  });
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as { data: { id: string; attributes: Record<string, unknown> } };
}

async function until(what: string, check: () => Promise<boolean>, seconds = 300): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${seconds} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Streams the zip and counts its bytes without keeping them. */
function streamZip(path: string): Promise<{ bytes: number; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: PORTS.gateway, path, headers: { 'x-api-key': KEY, ...USER } },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => (bytes += c.length));
        res.on('end', () =>
          res.statusCode === 200
            ? resolve({ bytes, ms: performance.now() - t0 })
            : reject(new Error(`zip answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function main(): Promise<void> {
  let database: BenchDatabase | undefined;
  const storage = await mkdtemp(join(tmpdir(), 'bench-mc-'));
  const children: ChildProcess[] = [];
  let stack: Stack | undefined;
  try {
    database = await benchDatabase('mc', 'manifest-cache');
    const sim = `http://127.0.0.1:${PORTS.sim}`;
    children.push(
      startApp(join(DIST, 'apps/upstream-sim/src/main.js'), { SIM_PORT: String(PORTS.sim) }),
    );
    await waitOk(`${sim}/_sim/calls`);
    stack = await startStack({
      service: 'manifest-cache',
      databaseUrl: database.url,
      ports: PORTS,
      key: KEY,
      serviceEnv: {
        STORAGE_ROOT: storage,
        CLAIM_EVIDENCE_URL: `${sim}/ce`,
        VBMS_URL: `${sim}/vbms`,
        VVA_URL: `${sim}/vva`,
        BGS_URL: `${sim}/bgs`,
        DOWNLOAD_CONCURRENCY: '8',
      },
      gatewayEnv: { STORAGE_ROOT: storage },
    });
    const { service, gateway } = stack;

    // (a) 2,000 records, fetched once, then read from the cache.
    const put = (fn: string, body: object) =>
      fetch(`${sim}/_sim/veterans/${fn}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await put('200000001', { vbmsDocuments: 1000, vvaDocuments: 1000 });
    const big = await api('POST', '/api/v2/manifests', { 'file-number': '200000001' });
    await until('the 2,000-record fetch', async () => {
      const m = await api('GET', `/api/v2/manifests/${big.data.id}`);
      return (m.data.attributes.sources as Array<{ status: string }>).every(
        (s) => s.status === 'success',
      );
    });
    const records = (
      (await api('GET', `/api/v2/manifests/${big.data.id}`)).data.attributes.records as unknown[]
    ).length;

    const pool = new Pool({
      connectionString: database.url,
      max: 10,
      options: '-c search_path=manifest_cache',
    });
    const sql = () =>
      pool
        .query(MANIFEST_VIEW_SQL, [big.data.id, USER['css-id'], USER['station-id'], null])
        .then((r) => r.rows.length === 1);
    const headers = { 'x-api-key': KEY, ...USER };
    const etag = (
      await fetch(`http://127.0.0.1:${PORTS.gateway}/api/v2/manifests/${big.data.id}`, {
        headers,
      })
    ).headers.get('etag')!;
    // The uncached path (the view built and sent whole, as every poll was before), the poll
    // that gets the cached body, and the poll that revalidates its ETag (304).
    const paths = {
      uncached: { h: { ...headers, 'cache-control': 'no-cache' }, ok: (s?: number) => s === 200 },
      cached: { h: headers, ok: (s?: number) => s === 200 },
      revalidated: { h: { ...headers, 'if-none-match': etag }, ok: (s?: number) => s === 304 },
    };
    const results: Record<string, LoadResult> = {};
    const poll = (name: keyof typeof paths, conc: number, seconds: number) =>
      loadHttp(
        `http://127.0.0.1:${PORTS.gateway}`,
        () => `/api/v2/manifests/${big.data.id}`,
        conc,
        seconds,
        paths[name].h,
        paths[name].ok,
      );
    for (const conc of [1, 16]) {
      await measure(sql, conc, WARMUP);
      results[`sql@${conc}`] = await measure(sql, conc, SECONDS);
      for (const name of Object.keys(paths) as Array<keyof typeof paths>) {
        await poll(name, conc, WARMUP);
        results[`${name}@${conc}`] = await poll(name, conc, SECONDS);
      }
    }
    await pool.end();

    console.log(
      `\nbench/manifest-cache (a): cached manifest of ${records} records, ${SECONDS} s per run after ${WARMUP} s warm-up`,
    );
    console.log(HEADER);
    for (const conc of [1, 16]) {
      console.log(row('bare SQL (baseline, pg pool in-process)', results[`sql@${conc}`], conc));
      console.log(
        row('GET, uncached (Cache-Control: no-cache)', results[`uncached@${conc}`], conc),
      );
      console.log(row('GET, poll of an unchanged manifest', results[`cached@${conc}`], conc));
      console.log(row('GET, If-None-Match (304)', results[`revalidated@${conc}`], conc));
    }
    for (const conc of [1, 16]) {
      const r = (name: string) => results[`${name}@${conc}`].rps;
      console.log(
        `concurrency ${conc}: uncached/SQL ${(r('uncached') / r('sql')).toFixed(2)}, cached/uncached ${(r('cached') / r('uncached')).toFixed(1)}x, 304/uncached ${(r('revalidated') / r('uncached')).toFixed(1)}x`,
      );
    }

    // (b) 500 documents, downloaded into storage, then streamed as one zip.
    await put('200000002', { vbmsDocuments: 300, vvaDocuments: 200, documentSize: 400_000 });
    const z = await api('POST', '/api/v2/manifests', { 'file-number': '200000002' });
    await until('the 500-record fetch', async () => {
      const m = await api('GET', `/api/v2/manifests/${z.data.id}`);
      return (m.data.attributes.sources as Array<{ status: string }>).every(
        (s) => s.status === 'success',
      );
    });
    await api('POST', `/api/v2/manifests/${z.data.id}/files_downloads`);
    const t0 = performance.now();
    await until('the 500-document download', async () => {
      const m = await api('GET', `/api/v2/manifests/${z.data.id}/files_downloads`);
      return m.data.attributes.fetched_files_status === 'finished';
    });
    const downloadMs = performance.now() - t0;
    const gwBefore = await currentRssMiB(gateway.pid!);
    const reset = (await resetPeakRss(gateway.pid!)) && (await resetPeakRss(service.pid!));
    const zip = await streamZip(`/api/v2/manifests/${z.data.id}/zip`);
    const gwPeak = await peakRssMiB(gateway.pid!);
    const svcPeak = await peakRssMiB(service.pid!);
    console.log(`\nbench/manifest-cache (b): 500 documents of 400 kB`);
    console.log(`download into storage: ${(downloadMs / 1000).toFixed(1)} s`);
    console.log(
      `zip streamed: ${(zip.bytes / 2 ** 20).toFixed(1)} MiB in ${(zip.ms / 1000).toFixed(2)} s (${(zip.bytes / 2 ** 20 / (zip.ms / 1000)).toFixed(0)} MiB/s)`,
    );
    const during = reset
      ? 'while streaming the zip'
      : 'over the whole run (peak reset not supported here)';
    console.log(
      `gateway (streams the zip): RSS ${gwBefore.toFixed(0)} MiB before, peak ${gwPeak.toFixed(0)} MiB ${during}`,
    );
    console.log(`manifest-cache service (plans the zip): peak ${svcPeak.toFixed(0)} MiB ${during}`);
  } finally {
    await stack?.stop();
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    await database?.drop();
    await rm(storage, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exit(1);
});
