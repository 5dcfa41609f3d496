import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { Engine, ExtractedValue, JobFieldView, ModelUsage } from '@app/contracts';
import { EventBus, Outbox, OutboxRelay } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import { type BlobStorage, streamToBuffer } from '@app/storage';
import type { ExtractionConfig } from '../config';
import { ExtractionMetrics } from './extraction-metrics';
import { isPermanentPoolError } from '@app/workers';
import { ExtractPool } from '../extract/extract-pool';
import { ModelEngine, ModelRefusedError } from '../extract/model/model-engine';
import { BLOB_STORAGE } from './storage-token';
import { RunHooks } from './run-hooks';
import type { RunRow } from './views';

interface ClaimedTask {
  id: string;
  run_id: string;
  attempts: number;
  storage_key: string;
  fields_snapshot: JobFieldView[];
  engine: Engine;
  default_currency: string | null;
}

/** What a finished task records: its values, and what it could not do and spent. */
interface Done {
  data: Record<string, ExtractedValue>;
  warnings: string[];
  usage: ModelUsage | null;
}

/**
 * Workers: each task message extracts one file. A task is claimed by a conditional update,
 * finished by another that also moves the run's counters in the same statement, so a task
 * delivered twice (a worker died before its ack) counts once and the counters stay exact
 * however many workers run. A failure is retried with back-off by the bus; the last attempt
 * records the task as failed with its error, and the run ends completed, partially completed
 * or failed when its last task is done.
 */
@Injectable()
export class TaskWorker implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly bus: EventBus,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly hooks: RunHooks,
    private readonly metrics: ExtractionMetrics,
    private readonly pool: ExtractPool,
    private readonly model: ModelEngine,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.bus.on('extraction.task.requested.v1', async (p, ctx) => {
      let outcome = 'retry';
      try {
        outcome = await this.process(p.taskId, ctx.attempt);
      } finally {
        this.metrics.tasks.inc({ outcome });
      }
    });
  }

  /** Handles one delivery of a task; `attempt` is the bus's count for this message. */
  async process(
    taskId: string,
    attempt = 1,
  ): Promise<'completed' | 'failed' | 'retry' | 'skipped'> {
    const [task] = await this.ds.query<ClaimedTask[]>(
      `WITH claimed AS (
         UPDATE extraction_tasks SET status = 'processing', attempts = attempts + 1, updated_at = now()
          WHERE id = $1 AND status IN ('pending', 'processing')
          RETURNING id, run_id, source_file_id, attempts),
       started AS (
         UPDATE job_runs SET status = 'in_progress', started_at = coalesce(started_at, now())
          WHERE id = (SELECT run_id FROM claimed) AND status = 'pending' RETURNING id)
       SELECT c.id, c.run_id, c.attempts, s.storage_key, r.fields_snapshot, r.engine, r.default_currency
         FROM claimed c JOIN source_files s ON s.id = c.source_file_id JOIN job_runs r ON r.id = c.run_id`,
      [taskId],
    );
    if (!task) return 'skipped'; // finished already: a second delivery of the same task
    const max = this.config.EVENT_MAX_ATTEMPTS;
    if (task.attempts > max) {
      // Claimed more often than allowed: workers keep dying on it.
      await this.finish(task, null, `gave up after ${task.attempts - 1} attempts`);
      return 'failed';
    }
    let done: Done;
    const end = this.metrics.taskSeconds.startTimer();
    try {
      done = await this.extract(task);
      end();
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      // Unreadable, too large, too slow, refused by the model API: it would be refused again.
      const permanent = isPermanentPoolError(err) || err instanceof ModelRefusedError;
      if (!permanent && Math.max(attempt, task.attempts) < max) {
        await this.ds.query(
          `UPDATE extraction_tasks SET error_message = $2, updated_at = now() WHERE id = $1 AND status = 'processing'`,
          [task.id, message.slice(0, 2000)],
        );
        this.logger.warn({ taskId, attempt, err: message }, 'task failed; will retry');
        throw err;
      }
      await this.finish(task, null, message);
      return 'failed';
    }
    await this.finish(task, done, null);
    return 'completed';
  }

  /**
   * Reads the file in the worker pool (e-invoice XML, text, OCR; the rules engine too), then
   * for the model engine asks the model for the fields the e-invoice did not give.
   */
  private async extract(task: ClaimedTask): Promise<Done> {
    const bytes = await streamToBuffer(await this.storage.get(task.storage_key));
    const read = await this.pool.extract(bytes, task.fields_snapshot, {
      engine: task.engine,
      defaultCurrency: task.default_currency,
    });
    const warnings = [...read.warnings];
    if (read.pagesOcred) this.metrics.ocrPages.inc(read.pagesOcred);
    if (task.engine !== 'model') return { data: read.values, warnings, usage: null };
    const open = task.fields_snapshot.filter((f) => read.values[f.name]?.source !== 'einvoice');
    if (open.length === 0 || read.lines.length === 0)
      return { data: fill(task.fields_snapshot, read.values), warnings, usage: null };
    const asked = await this.model.extract(read.lines, open, task.default_currency, read.images);
    this.metrics.modelTokens.inc({ kind: 'prompt' }, asked.usage.promptTokens);
    this.metrics.modelTokens.inc({ kind: 'completion' }, asked.usage.completionTokens);
    return {
      data: fill(task.fields_snapshot, { ...asked.values, ...read.values }),
      warnings: [...warnings, ...asked.warnings],
      usage: asked.usage,
    };
  }

  /**
   * Finishes a task in one statement: its status, its result and the run's counters (and the
   * run's status when it was the last). One statement, not a transaction, because every task
   * of a run updates the same run row: its lock is held only while Postgres runs the
   * statement, never across a round trip to a busy worker, so workers do not queue on it.
   */
  private async finish(task: ClaimedTask, done: Done | null, error: string | null): Promise<void> {
    const ok = done !== null;
    const [run] = await this.ds.query<RunRow[]>(
      `WITH done AS (
         UPDATE extraction_tasks SET status = $2, error_message = $3, processed_at = now(), updated_at = now(),
                warnings = coalesce($6::jsonb, '[]'::jsonb), usage = $7::jsonb
          WHERE id = $1 AND status = 'processing'
          RETURNING id, job_id, run_id, source_file_id),
       result AS (
         INSERT INTO extraction_results (job_id, run_id, task_id, source_file_id, extracted_data)
         SELECT job_id, run_id, id, source_file_id, $4::jsonb FROM done WHERE $4::jsonb IS NOT NULL
         RETURNING 1),
       counted AS (
         UPDATE job_runs r
            SET tasks_completed = r.tasks_completed + $5::int,
                tasks_failed = r.tasks_failed + (1 - $5::int),
                status = CASE
                  WHEN r.tasks_completed + r.tasks_failed + 1 < r.tasks_total THEN 'in_progress'
                  WHEN r.tasks_failed + (1 - $5::int) = 0 THEN 'completed'
                  WHEN r.tasks_completed + $5::int = 0 THEN 'failed'
                  ELSE 'partially_completed' END,
                completed_at = CASE WHEN r.tasks_completed + r.tasks_failed + 1 = r.tasks_total THEN now() END
           FROM done WHERE r.id = done.run_id
         RETURNING r.*)
       SELECT * FROM counted`,
      [
        task.id,
        ok ? 'completed' : 'failed',
        error?.slice(0, 2000) ?? null,
        ok ? JSON.stringify(done.data) : null,
        ok ? 1 : 0,
        ok ? JSON.stringify(done.warnings) : null,
        done?.usage ? JSON.stringify(done.usage) : null,
      ],
    );
    if (!ok) this.logger.warn({ taskId: task.id, err: error }, 'task failed for good');
    if (run?.completed_at) await this.announce(run.id);
  }

  /**
   * Publishes a finished run once: its event and its automation's export, in one transaction
   * with the mark that says it was done. The maintenance job announces any run whose worker
   * died between its last task and this.
   */
  async announce(runId: string): Promise<boolean> {
    const run = await this.ds.transaction(async (m) => {
      const [[r]] = await m.query<[RunRow[], number]>(
        `UPDATE job_runs SET announced_at = now()
          WHERE id = $1 AND completed_at IS NOT NULL AND announced_at IS NULL RETURNING *`,
        [runId],
      );
      if (!r) return null;
      await this.outbox.add(m, 'extraction.run.completed.v1', {
        runId: r.id,
        jobId: r.job_id,
        runNumber: r.run_number,
        status: r.status,
        tasksTotal: r.tasks_total,
        tasksCompleted: r.tasks_completed,
        tasksFailed: r.tasks_failed,
      });
      await this.hooks.runFinished(m, r);
      return r;
    });
    if (!run) return false;
    this.relay.kick();
    this.metrics.runs.inc({ status: run.status });
    this.logger.info(
      { runId, status: run.status, completed: run.tasks_completed, failed: run.tasks_failed },
      'run finished',
    );
    return true;
  }
}

/** Every field of the run, in its order; a field nothing found is null with confidence 0. */
function fill(
  fields: JobFieldView[],
  values: Record<string, ExtractedValue>,
): Record<string, ExtractedValue> {
  return Object.fromEntries(
    fields.map((f) => [f.name, values[f.name] ?? { value: null, confidence: 0, raw: null }]),
  );
}
