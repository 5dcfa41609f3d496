import { generateKeyPairSync } from 'node:crypto';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { Registry } from 'prom-client';
import type { DataSource, QueryRunner } from 'typeorm';
import { loadConfig, serviceSchema } from '@app/config';
import { Outbox, type OutboxRelay } from '@app/messaging';
import { serviceDataSource } from '@app/service-kit';
import { uploadStatusSchema } from '../../apps/upload-status/src/config';
import { LighthouseClient } from '../../apps/upload-status/src/lighthouse/lighthouse.client';
import { BatchWorker } from '../../apps/upload-status/src/polling/batch.worker';
import { targetState, transition } from '../../apps/upload-status/src/uploads/state-machine';
import { UploadMetrics } from '../../apps/upload-status/src/uploads/upload-metrics';
import {
  UploadsRepository,
  type UploadRow,
} from '../../apps/upload-status/src/uploads/uploads.repository';
import { UploadStatusService } from '../../apps/upload-status/src/upload-status.module';
import { createUpstreamSim } from '../../apps/upstream-sim/src/sim';
import type { EventBus } from '@app/messaging';
import { benchDatabase, type BenchDatabase } from '../lib/database';

/**
 * bench/upload-polling: 100,000 pending uploads, one full poll cycle against the Lighthouse
 * simulator (claims, bulk calls, set-based writes), next to a naive per-row poller (load,
 * call, save each row) measured in the same run on a sample.
 */
const UPLOADS = Number(process.env.BENCH_UPLOADS ?? 100_000);
const NAIVE_SAMPLE = Number(process.env.BENCH_NAIVE_SAMPLE ?? 2_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);

/** Counts every statement the DataSource sends, transactions' BEGIN and COMMIT included. */
const batchScope = new AsyncLocalStorage<{ n: number }>();

function countStatements(ds: DataSource): { n: number } {
  const counter = { n: 0 };
  const create = ds.createQueryRunner.bind(ds);
  ds.createQueryRunner = (...args: Parameters<DataSource['createQueryRunner']>): QueryRunner => {
    const qr = create(...args);
    const query = qr.query.bind(qr);
    qr.query = ((...q: Parameters<QueryRunner['query']>) => {
      counter.n++;
      const scope = batchScope.getStore();
      if (scope) scope.n++;
      return query(...q);
    }) as QueryRunner['query'];
    return qr;
  };
  return counter;
}

async function main(): Promise<void> {
  let database: BenchDatabase | undefined;
  const { app: sim, lighthouse } = createUpstreamSim();
  // The bench's Lighthouse client: its public key registered with the simulated Okta.
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  lighthouse.registerClient(
    'dev-client',
    keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  );
  await sim.listen({ port: 0, host: '127.0.0.1' });
  const simUrl = `http://127.0.0.1:${(sim.server.address() as { port: number }).port}`;
  lighthouse.config = {
    ...lighthouse.config,
    rateLimitPerMinute: 1e9,
    maxIds: 1000,
    stepMs: 600_000,
  };
  let ds: DataSource | undefined;
  try {
    database = await benchDatabase('us', 'upload-status');
    const config = loadConfig(serviceSchema.merge(uploadStatusSchema), {
      DATABASE_URL: database.url,
      LIGHTHOUSE_URL: `${simUrl}/lighthouse`,
      LIGHTHOUSE_PRIVATE_KEY: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      POLL_INTERVAL_SECONDS: '0',
      DB_POOL_MAX: String(WORKERS + 2),
    });
    ds = serviceDataSource(UploadStatusService, config);
    await ds.initialize();
    const total = UPLOADS + NAIVE_SAMPLE;
    await ds.query(
      `INSERT INTO upload_status.document_uploads (form526_submission_id, lighthouse_request_id, document_type, created_at)
       SELECT 'sub-' || (g / 4), 800000000000 + g,
              (ARRAY['bdd_instructions', 'form_0781', 'form_0781a', 'veteran_upload'])[1 + g % 4], now() - interval '1 hour'
         FROM generate_series(1, $1) g`,
      [total],
    );
    await ds.query('ANALYZE upload_status.document_uploads');
    // Documents at every stage: a quarter still waiting, the rest at a step, done, or failed.
    const now = Date.now();
    for (let g = 1; g <= total; g++) {
      const id = String(800000000000 + g);
      lighthouse.firstSeen.set(id, now - [0, 1, 2, 5][g % 4] * lighthouse.config.stepMs);
      if (g % 20 === 0) lighthouse.config.outcomes[id] = { failAt: 'CLAIMS_EVIDENCE' };
    }

    const logger = pino({ level: 'warn' });
    const counter = countStatements(ds);
    const repo = new UploadsRepository(ds);
    const metrics = new UploadMetrics(new Registry());
    // No shared pace: the bench measures the poll path itself, not Lighthouse's rate limit.
    const lh = new LighthouseClient(config, logger, { take: async () => undefined });
    const relay = { kick: () => undefined } as unknown as OutboxRelay;
    const worker = new BatchWorker(
      {} as EventBus,
      repo,
      lh,
      new Outbox('upload_status'),
      relay,
      metrics,
      config,
      logger,
    );

    // (1) the service's cycle: claim every batch, then workers poll them.
    const t0 = performance.now();
    const tokens: string[] = [];
    const cycleStartedAt = new Date();
    const claimStatements0 = counter.n;
    for (;;) {
      const token = randomUUID();
      const n = await ds.transaction((m) =>
        repo.claimBatch(m, token, {
          size: config.POLL_BATCH_SIZE,
          intervalSeconds: 0,
          claimSeconds: 600,
          cycleStartedAt,
        }),
      );
      if (n === 0) break;
      tokens.push(token);
      if (tokens.length * config.POLL_BATCH_SIZE >= UPLOADS) break;
    }
    const claimStatements = counter.n - claimStatements0;
    const claimMs = performance.now() - t0;
    let transitions = 0;
    let polled = 0;
    const perBatch: number[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (next < tokens.length) {
          const token = tokens[next++];
          const scope = { n: 0 };
          const r = await batchScope.run(scope, () => worker.pollBatch(token));
          perBatch.push(scope.n);
          polled += r.polled;
          transitions += r.transitions;
        }
      }),
    );
    const cycleMs = performance.now() - t0;
    const batchStatements = [...new Set(perBatch)].sort((a, b) => a - b);

    // (2) the naive poller on the rows left: load, call and save each one.
    const naiveRows = await ds.query<UploadRow[]>(
      `SELECT id, lighthouse_request_id::text AS lighthouse_request_id, status, current_step, error_step, error_detail
         FROM upload_status.document_uploads WHERE last_polled_at IS NULL ORDER BY id LIMIT $1`,
      [NAIVE_SAMPLE],
    );
    const naiveStatements0 = counter.n;
    const t1 = performance.now();
    for (const { id } of naiveRows) {
      const [row] = await ds.query<UploadRow[]>(
        `SELECT id, lighthouse_request_id::text AS lighthouse_request_id, status, current_step, error_step, error_detail
           FROM upload_status.document_uploads WHERE id = $1`,
        [id],
      );
      const answer = await lh.statuses([row.lighthouse_request_id]);
      const s = answer.statuses[0];
      const current = {
        status: row.status,
        currentStep: row.current_step,
        errorStep: row.error_step,
        errorDetail: row.error_detail,
      };
      const nextState = s ? targetState(s) : current;
      const t = transition(current, nextState);
      await ds.query(
        `UPDATE upload_status.document_uploads SET status = $2, current_step = $3, error_step = $4, error_detail = $5, last_polled_at = now() WHERE id = $1`,
        [
          row.id,
          nextState.status,
          nextState.currentStep,
          nextState.errorStep,
          nextState.errorDetail,
        ],
      );
      if (t) {
        await ds.query(
          `INSERT INTO upload_status.document_upload_transitions (document_upload_id, from_status, to_status, step, detail) VALUES ($1, $2, $3, $4, $5)`,
          [row.id, t.from, t.to, t.step, t.detail],
        );
      }
    }
    const naiveMs = performance.now() - t1;
    const naiveStatements = counter.n - naiveStatements0;

    const fast = polled / (cycleMs / 1000);
    const slow = naiveRows.length / (naiveMs / 1000);
    console.log(
      `\nbench/upload-polling: ${polled} pending uploads, batches of ${config.POLL_BATCH_SIZE}, ${WORKERS} workers, Lighthouse simulator on loopback`,
    );
    console.log(
      `set-based cycle: ${polled} uploads in ${(cycleMs / 1000).toFixed(2)} s = ${fast.toFixed(0)} uploads/s; ${tokens.length} bulk calls; ${transitions} transitions`,
    );
    console.log(`  of which claiming ${tokens.length} batches: ${(claimMs / 1000).toFixed(2)} s`);
    console.log(
      `  statements: claiming ${claimStatements} for ${tokens.length} batches; per polled batch ${batchStatements.join(' or ')} (load, BEGIN, uploads, history, events, COMMIT)`,
    );
    console.log(
      `naive per-row poller: ${naiveRows.length} uploads in ${(naiveMs / 1000).toFixed(2)} s = ${slow.toFixed(0)} uploads/s; ${(naiveStatements / naiveRows.length).toFixed(1)} statements and 1 call per upload`,
    );
    console.log(`ratio set-based/naive: ${(fast / slow).toFixed(1)}x (target: >= 20x)`);
  } finally {
    await ds?.destroy();
    await sim.close();
    await database?.drop();
  }
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.stack ?? err.message}`);
  process.exit(1);
});
