import { Client } from 'pg';
import { Keyring } from '@app/crypto';
import { benchDatabase, type BenchDatabase } from '../lib/database';
import { HEADER, type LoadResult, measure, row } from '../lib/load';
import { type Stack, startStack } from '../lib/stack';

/**
 * bench/copy-patch: a copy of about 1 MB (5,000 answers in pools); changing one answer as a
 * JSON Patch through the gateway (applied inside Postgres) next to a read-modify-write of the
 * whole document straight against Postgres, in the same run. Also the table's growth per patch.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
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
  let stack: Stack | undefined;
  try {
    database = await benchDatabase('fc', 'form-copies');
    stack = await startStack({
      service: 'form-copies',
      databaseUrl: database.url,
      ports: PORTS,
      serviceEnv: { ENCRYPTION_KEYS: `k1:${Keyring.generateKey()}` },
    });
    const KEY = stack.key;
    const base = `${stack.gatewayUrl}/api/v1`;
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
        body: JSON.stringify({ ownerId: 'bench', document: bigDocument() }),
      });
      if (!res.ok) throw new Error(`create answered ${res.status}: ${await res.text()}`);
      return ((await res.json()) as { defaultCopy: { id: string } }).defaultCopy.id;
    };
    const gwCopy = await make();
    const rmwCopy = await make();
    const db = new Client({ connectionString: database.url });
    // Dropping the database at the end must not hide a failure as an unhandled error.
    db.on('error', () => undefined);
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
    await stack?.stop();
    await database?.drop();
  }
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exit(1);
});
