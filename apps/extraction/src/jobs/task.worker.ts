import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { ExtractedValue, JobFieldView, ModelUsage } from '@app/contracts';
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
import { type ClaimedTask, TasksRepository } from './tasks.repository';

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
    private readonly tasks: TasksRepository,
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
    const task = await this.tasks.claim(taskId);
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
        await this.tasks.noteError(task.id, message);
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

  /** Finishes a task (one statement: see TasksRepository.finish), then announces its run. */
  private async finish(task: ClaimedTask, done: Done | null, error: string | null): Promise<void> {
    const ok = done !== null;
    const run = await this.tasks.finish(task.id, {
      status: ok ? 'completed' : 'failed',
      error,
      data: done?.data ?? null,
      warnings: done?.warnings ?? null,
      usage: done?.usage ?? null,
    });
    if (!ok) this.logger.warn({ taskId: task.id, err: error }, 'task failed for good');
    if (run?.completed_at) await this.announce(run.id);
  }

  /**
   * Publishes a finished run once: its event and its automation's export, in one transaction
   * with the mark that says it was done. The maintenance job announces any run whose worker
   * died between its last task and this.
   */
  async announce(runId: string): Promise<boolean> {
    const run = await this.tasks.transaction(async (m) => {
      const r = await this.tasks.markAnnounced(m, runId);
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
