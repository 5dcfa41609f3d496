import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { Client } from 'pg';
import { Keyring } from '@app/crypto';
import { benchDatabase, type BenchDatabase } from '../lib/database';
import { HEADER, type LoadResult, measure, row, startApp, waitOk } from '../lib/load';

/**
 * bench/copy-patch: a copy of about 1 MB (5,000 answers in pools); changing one answer as a
 * JSON Patch through the gateway (applied inside Postgres) next to a read-modify-write of the
 * whole document straight against Postgres, in the same run. Also the table's growth per patch.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RABBIT = process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const DIST = join(__dirname, '..', '..');
const KEY = `bench-key-${process.pid}-${Date.now()}`;
const PORTS = { gateway: 3590, service: 3591 };

function bigDocument() {
  const pools: Record<string, unknown> = {};
  for (let p = 0; p < 100; p++) {
    const answers: Record<string, unknown> = {};
    for (let a = 0; a < 50; a++) {
      const id = `p${p}a${a}`;
      answers[id] = {
        id,
        question_id: `mqs_question_${a}`,
        value: `answer ${p}-${a} lorem ipsum dolor sit amet`,
        active: true,
        required: a % 3 === 0,
        display_type: 'public',
        updated_at: '2026-11-01T10:00:00Z',
      };
    }
    pools[`pool${p}`] = {
      id: `pool${p}`,
      question_pool_id: 'locations',
      soft_deleted: false,
      answers,
      answer_pools: {},
    };
  }
  return { answer_pools: pools };
}

async function main(): Promise<void> {
  let database: BenchDatabase | undefined;
  const children: ChildProcess[] = [];
  try {
    database = await benchDatabase('fc', 'form-copies');
    const common = {
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      RABBITMQ_URL: RABBIT,
      MESSAGING_PREFIX: `benchfc${process.pid}.`,
    };
    children.push(
      startApp(join(DIST, 'apps/form-copies/src/main.js'), {
        ...common,
        DATABASE_URL: database.url,
        HEALTH_PORT: String(PORTS.service),
        ENCRYPTION_KEYS: `k1:${Keyring.generateKey()}`,
      }),
    );
    children.push(
      startApp(join(DIST, 'apps/gateway/src/main.js'), {
        ...common,
        NODE_ENV: 'development',
        PORT: String(PORTS.gateway),
        DEV_API_KEY: KEY,
        RATE_LIMIT_PER_MINUTE: '100000000',
      }),
    );
    await waitOk(`http://127.0.0.1:${PORTS.service}/health/ready`);
    await waitOk(`http://127.0.0.1:${PORTS.gateway}/health/ready`);
    const base = `http://127.0.0.1:${PORTS.gateway}/api/v1`;
    const headers = { 'x-api-key': KEY, 'content-type': 'application/json' };
    await fetch(`${base}/owners/bench/feature-flags`, {
      method: 'PUT',
      headers,
      body: JSON.stringify({ copies: true }),
    });

    const make = async () => {
      const res = await fetch(`${base}/application-forms`, {
        method: 'POST',
        headers,
        body: JSON.stringify({ tenantId: 't', ownerId: 'bench', document: bigDocument() }),
      });
      if (!res.ok) throw new Error(`create answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { defaultCopy: { id: string } }).defaultCopy.id;
    };
    const gwCopy = await make();
    const rmwCopy = await make();
    const db = new Client({ connectionString: database.url });
    await db.connect();
    const size = async () =>
      Number(
        (await db.query<{ n: string }>(`SELECT pg_total_relation_size('form_copies.copies') AS n`))
          .rows[0].n,
      );
    const docBytes = Number(
      (
        await db.query<{ n: number }>(
          `SELECT octet_length(document::text) AS n FROM form_copies.copies WHERE id = $1`,
          [gwCopy],
        )
      ).rows[0].n,
    );

    // (a) one answer through the gateway, as a JSON Patch with If-Match.
    let version = 1;
    let n = 0;
    const patchOne = async () => {
      const res = await fetch(`${base}/copies/${gwCopy}`, {
        method: 'PATCH',
        headers: {
          ...headers,
          'content-type': 'application/json-patch+json',
          'if-match': `"${version}"`,
        },
        body: JSON.stringify([
          {
            op: 'replace',
            path: `/answer_pools/pool${n % 100}/answers/p${n % 100}a${n % 50}/value`,
            value: `edit ${n++}`,
          },
        ]),
      });
      await res.arrayBuffer();
      if (res.ok) version = Number(res.headers.get('etag')?.replace(/"/g, ''));
      return res.ok;
    };
    // (b) the same change as the application would make it without Postgres' help.
    let m = 0;
    const rmwOne = async () => {
      await db.query('BEGIN');
      const { rows } = await db.query<{
        document: { answer_pools: Record<string, { answers: Record<string, { value: string }> }> };
      }>(`SELECT document FROM form_copies.copies WHERE id = $1 FOR UPDATE`, [rmwCopy]);
      const doc = rows[0].document;
      doc.answer_pools[`pool${m % 100}`].answers[`p${m % 100}a${m % 50}`].value = `edit ${m++}`;
      await db.query(
        `UPDATE form_copies.copies SET document = $2::jsonb, version = version + 1 WHERE id = $1`,
        [rmwCopy, JSON.stringify(doc)],
      );
      await db.query('COMMIT');
      return true;
    };

    await measure(patchOne, 1, 2);
    await measure(rmwOne, 1, 2);
    const results: Record<string, LoadResult & { growth: number }> = {};
    for (const [name, fn] of [
      ['gateway', patchOne],
      ['rmw', rmwOne],
    ] as const) {
      // Compact first, so neither variant fills space the other freed.
      await db.query('VACUUM FULL form_copies.copies');
      const before = await size();
      const r = await measure(fn, 1, SECONDS);
      const after = await size();
      results[name] = { ...r, growth: (after - before) / (r.rps * SECONDS) };
    }
    await db.end();
    console.log(
      `\nbench/copy-patch: one answer changed in a ${(docBytes / 1024).toFixed(0)} KiB copy (5,000 answers in 100 pools), ${SECONDS} s each, one writer`,
    );
    console.log(HEADER);
    console.log(row('JSON Patch via gateway (in Postgres)', results.gateway, 1));
    console.log(row('read-modify-write, app <-> Postgres', results.rmw, 1));
    console.log(
      `ratio gateway/read-modify-write req/s: ${(results.gateway.rps / results.rmw.rps).toFixed(2)}`,
    );
    console.log(
      `table growth per patch: gateway ${(results.gateway.growth / 1024).toFixed(1)} KiB, read-modify-write ${(results.rmw.growth / 1024).toFixed(1)} KiB (before autovacuum)`,
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
