import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { benchDatabase, type BenchDatabase } from '../lib/database';
import { HEADER, loadHttp, type LoadResult, row, startApp, waitOk } from '../lib/load';

/**
 * bench/rpc-path: a Postgres primary-key lookup (a) through gateway → RabbitMQ → service →
 * Postgres and back, and (b) through a minimal Fastify + pg handler, at concurrency 1 and 64,
 * in one run on this machine. Prints req/s, p50 and p99 for both and their ratio.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const RABBIT = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const KEY = `bench-key-${process.pid}-${Date.now()}`;
const ROWS = 10_000;
const DIST = join(__dirname, '..', '..');

async function main(): Promise<void> {
  let database: BenchDatabase | undefined;
  const prefix = `bench${process.pid}.`;
  const children: ChildProcess[] = [];
  try {
    database = await benchDatabase('rpc', 'manifest-cache');
    const db = new Client({ connectionString: database.url });
    await db.connect();
    const { rows } = await db.query<{ id: string }>(
      `INSERT INTO manifest_cache.outbox (id, event_name, payload)
       SELECT gen_random_uuid(), 'bench.row.created.v1', jsonb_build_object('n', g) FROM generate_series(1, $1) g
       RETURNING id`,
      [ROWS],
    );
    await db.query('ANALYZE manifest_cache.outbox');
    await db.end();
    const ids = rows.map((r) => r.id);

    const common = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      RABBITMQ_URL: RABBIT,
      MESSAGING_PREFIX: prefix,
      DB_POOL_MAX: '10',
    };
    children.push(
      startApp(join(DIST, 'apps/manifest-cache/src/main.js'), {
        ...common,
        DATABASE_URL: database.url,
        HEALTH_PORT: '3791',
        OUTBOX_POLL_MS: '60000',
      }),
    );
    children.push(
      startApp(join(DIST, 'apps/gateway/src/main.js'), {
        ...common,
        NODE_ENV: 'development',
        PORT: '3790',
        DEV_API_KEY: KEY,
        RATE_LIMIT_PER_MINUTE: '100000000',
      }),
    );
    const direct = startApp(join(__dirname, 'direct-server.js'), {
      DATABASE_URL: database.url,
      DB_POOL_MAX: '10',
      PORT: '3792',
    });
    children.push(direct);
    const gw = 'http://127.0.0.1:3790';
    const dr = 'http://127.0.0.1:3792';
    const headers = { 'x-api-key': KEY };
    await waitOk('http://127.0.0.1:3791/health/ready');
    await waitOk(`${gw}/api/v1/services/manifest-cache/outbox-events/${ids[0]}`, { headers });
    await waitOk(`${dr}/outbox-events/${ids[0]}`);

    const paths = {
      direct: (i: number) => `/outbox-events/${ids[i % ids.length]}`,
      gateway: (i: number) =>
        `/api/v1/services/manifest-cache/outbox-events/${ids[i % ids.length]}`,
    };
    const results: Record<string, LoadResult> = {};
    for (const conc of [1, 64]) {
      for (const [name, base] of [
        ['direct', dr],
        ['gateway', gw],
      ] as const) {
        await loadHttp(base, paths[name], conc, WARMUP, headers);
      }
      // Alternate the two paths over several rounds so drift on a shared machine hits both
      // alike, and report each path's median round.
      const rounds: Record<'direct' | 'gateway', LoadResult[]> = { direct: [], gateway: [] };
      for (let r = 0; r < ROUNDS; r++) {
        for (const [name, base] of [
          ['direct', dr],
          ['gateway', gw],
        ] as const) {
          rounds[name].push(await loadHttp(base, paths[name], conc, SECONDS / ROUNDS, headers));
        }
      }
      for (const name of ['direct', 'gateway'] as const) {
        const sorted = [...rounds[name]].sort((a, b) => a.rps - b.rps);
        results[`${name}@${conc}`] = sorted[Math.floor(sorted.length / 2)];
      }
    }
    console.log(
      `\nbench/rpc-path: Postgres primary-key lookup (${ROWS} rows); per path and concurrency ${ROUNDS} alternating rounds of ${(SECONDS / ROUNDS).toFixed(1)} s after ${WARMUP} s warm-up, median round shown`,
    );
    console.log(HEADER);
    for (const conc of [1, 64]) {
      console.log(row('direct: fastify + pg (baseline)', results[`direct@${conc}`], conc));
      console.log(row('gateway -> rabbitmq -> service -> pg', results[`gateway@${conc}`], conc));
    }
    const ratio64 = results['gateway@64'].rps / results['direct@64'].rps;
    const ratio1 = results['gateway@1'].rps / results['direct@1'].rps;
    console.log(
      `\nratio gateway/direct req/s: ${ratio1.toFixed(2)} at concurrency 1, ${ratio64.toFixed(2)} at 64 (target at 64: >= 0.50)`,
    );
    console.log(
      `gateway p50 at concurrency 1: ${results['gateway@1'].p50.toFixed(2)} ms (target: <= 2 ms)`,
    );
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    await database?.drop();
  }
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exit(1);
});
