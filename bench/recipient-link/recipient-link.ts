import { Pool } from 'pg';
import { type BenchDatabase, benchDatabase } from '../lib/database';
import { type Stack, startStack } from '../lib/stack';
import { HEADER, loadHttp, type LoadResult, measure, row } from '../lib/load';

/**
 * bench/recipient-link: with 1,000,000 recipients and 300,000 workflows in the tables, a
 * recipient opening their link through the gateway (lookup by the link's hash, plus the access
 * audit) and the operators' workflow listing, each next to the bare SQL query, in one run.
 */
const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const WARMUP = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const WORKFLOWS = Number(process.env.BENCH_WORKFLOWS ?? 300_000);
const RECIPIENTS = Number(process.env.BENCH_RECIPIENTS ?? 1_000_000);
const PORTS = { gateway: 3490, service: 3491 };

// The link token of generated recipient g; its SHA-256 is what the table holds.
const TOKEN_SQL = (g: string) =>
  `rtrim(translate(encode(sha256(convert_to('bench-link-' || ${g}, 'UTF8')), 'base64'), '+/', '-_'), '=')`;

async function main(): Promise<void> {
  let database: BenchDatabase | undefined;
  let stack: Stack | undefined;
  try {
    database = await benchDatabase('pw', 'pdf-workflow');
    const pool = new Pool({
      connectionString: database.url,
      max: 16,
      options: '-c search_path=pdf_workflow',
    });
    const t0 = performance.now();
    await pool.query(
      `INSERT INTO workflow_sessions (id, original_sha256, status, creator_id, fields, expires_at, total_recipients, created_at)
       SELECT md5('wf' || g)::uuid, repeat('0', 64),
              (ARRAY['ACTIVE', 'ACTIVE', 'COMPLETED', 'EXPIRED', 'CANCELLED'])[1 + g % 5],
              'creator-' || (g % 1000), '[]'::jsonb, now() + interval '48 hours', 4, now() - g * interval '1 second'
         FROM generate_series(1, $1) g`,
      [WORKFLOWS],
    );
    await pool.query(
      `INSERT INTO recipients (session_id, order_index, link_hash, recipient_type, name, email, fields)
       SELECT md5('wf' || (1 + (g - 1) % $2))::uuid, (g - 1) / $2, sha256(convert_to(${TOKEN_SQL('g')}, 'UTF8')),
              (ARRAY['PRESCRIBER', 'PATIENT', 'PHARMACY', 'INSURANCE', 'CUSTOM'])[1 + g % 5], 'Recipient ' || g, 'r' || g || '@example.org', '{}'
         FROM generate_series(1, $1) g`,
      [RECIPIENTS, WORKFLOWS],
    );
    await pool.query('ANALYZE');
    const loadSeconds = (performance.now() - t0) / 1000;
    // Links of recipients whose turn it is, in active workflows: they can be opened.
    const { rows } = await pool.query<{ token: string }>(
      `SELECT ${TOKEN_SQL('g')} AS token FROM generate_series(1, $1) g WHERE (1 + (g - 1) % $2) % 5 IN (0, 1) AND (g - 1) / $2 = 0 LIMIT 5000`,
      [RECIPIENTS, WORKFLOWS],
    );
    const tokens = rows.map((r) => r.token);

    stack = await startStack({
      service: 'pdf-workflow',
      databaseUrl: database.url,
      ports: PORTS,
      serviceEnv: {
        LINK_SECRET: 'bench-link-secret-of-at-least-32-characters',
        JOBS_ENABLED: 'false',
      },
    });
    const gw = stack.gatewayUrl;

    const lookupSql = (i: number) =>
      pool
        .query(
          `SELECT r.*, to_jsonb(s.*) AS s FROM recipients r JOIN workflow_sessions s ON s.id = r.session_id
            WHERE r.link_hash = sha256(convert_to($1, 'UTF8'))`,
          [tokens[i % tokens.length]],
        )
        .then((r) => r.rows.length === 1);
    const listSql = () =>
      pool
        .query(
          `SELECT * FROM workflow_sessions WHERE status = 'ACTIVE' ORDER BY created_at DESC, id DESC LIMIT 51`,
        )
        .then((r) => r.rows.length === 51);
    const headers = { 'x-api-key': stack.key };
    const results: Record<string, LoadResult> = {};
    for (const conc of [1, 16]) {
      await measure(lookupSql, conc, WARMUP);
      results[`lookup-sql@${conc}`] = await measure(lookupSql, conc, SECONDS);
      await loadHttp(gw, (i) => `/api/v1/r/${tokens[i % tokens.length]}`, conc, WARMUP);
      results[`lookup-gw@${conc}`] = await loadHttp(
        gw,
        (i) => `/api/v1/r/${tokens[i % tokens.length]}`,
        conc,
        SECONDS,
      );
      await measure(listSql, conc, WARMUP);
      results[`list-sql@${conc}`] = await measure(listSql, conc, SECONDS);
      await loadHttp(gw, () => '/api/v1/workflows?status=ACTIVE&limit=50', conc, WARMUP, headers);
      results[`list-gw@${conc}`] = await loadHttp(
        gw,
        () => '/api/v1/workflows?status=ACTIVE&limit=50',
        conc,
        SECONDS,
        headers,
      );
    }
    await pool.end();
    console.log(
      `\nbench/recipient-link: ${RECIPIENTS} recipients, ${WORKFLOWS} workflows (loaded in ${loadSeconds.toFixed(0)} s), ${SECONDS} s per run`,
    );
    console.log(HEADER);
    for (const conc of [1, 16]) {
      console.log(row('link lookup: bare SQL (by hash)', results[`lookup-sql@${conc}`], conc));
      console.log(row('GET /api/v1/r/:token via gateway', results[`lookup-gw@${conc}`], conc));
      console.log(row('listing: bare SQL (50, newest first)', results[`list-sql@${conc}`], conc));
      console.log(row('GET /api/v1/workflows via gateway', results[`list-gw@${conc}`], conc));
    }
    console.log(
      `targets at concurrency 1: link p50 ${results['lookup-gw@1'].p50.toFixed(2)} ms (< 5 ms), listing p50 ${results['list-gw@1'].p50.toFixed(2)} ms (< 50 ms)`,
    );
    console.log(
      '(the gateway link path also records the access: one UPDATE and one audit INSERT per open)',
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
