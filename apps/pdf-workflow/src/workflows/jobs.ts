import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Logger } from 'pino';
import { Outbox, OutboxRelay } from '@app/messaging';
import { LOGGER, scheduleEvery, SERVICE_CONFIG } from '@app/service-kit';
import type { BlobStorage } from '@app/storage';
import type { PdfWorkflowConfig } from '../config';
import { JobsRepository } from './jobs.repository';
import { WorkflowsRepository } from './workflows.repository';
import { BLOB_STORAGE } from './tokens';
import { TurnNotifier } from './turn-notifier';

/**
 * Time-driven work, safe on every replica: each job is one set-based statement whose row locks
 * and re-checked conditions make a second replica find nothing left to do. `now` is a
 * parameter so tests drive the clock.
 */
@Injectable()
export class WorkflowJobs implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly repo: WorkflowsRepository,
    private readonly jobs: JobsRepository,
    private readonly turns: TurnNotifier,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly scheduler: SchedulerRegistry,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private unschedule?: () => void;

  onApplicationBootstrap(): void {
    if (!this.config.JOBS_ENABLED) return;
    this.unschedule = scheduleEvery(
      this.scheduler,
      'pdf-workflow.jobs',
      this.config.JOB_TICK_SECONDS,
      () => this.run(),
      this.logger,
    );
  }

  onApplicationShutdown(): void {
    this.unschedule?.();
  }

  async run(now = new Date()): Promise<{ expired: number; reminded: number; purged: number }> {
    const expired = await this.expire(now);
    const reminded = await this.remind(now);
    const purged = await this.purge(now);
    return { expired, reminded, purged };
  }

  /** Expires overdue workflows once; the expiry is re-checked under the row lock, so one just extended stays. */
  async expire(now: Date): Promise<number> {
    const n = await this.repo.ds.transaction(async (m) => {
      const ids = await this.jobs.expire(m, now);
      if (ids.length === 0) return 0;
      await this.outbox.addMany(
        m,
        ids.map((workflowId) => ({
          name: 'pdf-workflow.workflow.expired.v1' as const,
          payload: { workflowId },
        })),
      );
      return ids.length;
    });
    if (n) this.relay.kick();
    return n;
  }

  /**
   * Reminds only the current recipient of an active workflow whose reminder is due, at most
   * REMINDER_MAX times; reminders missed while nothing ran collapse into one, since the next one
   * is scheduled from now, not from when the missed one was due.
   */
  async remind(now: Date): Promise<number> {
    const rows = await this.jobs.dueReminders(
      now,
      this.config.REMINDER_MAX,
      this.config.REMINDER_INTERVAL_HOURS,
    );
    for (const r of rows) {
      await this.turns.notifyTurn(r.s, r, true);
      await this.repo.audit(this.repo.ds, r.session_id, 'reminded', null, r.id, {
        reminder: r.reminder_count,
      });
    }
    return rows.length;
  }

  /** Deletes files and form data of workflows ended longer ago than the retention; the audit stays. */
  async purge(now: Date): Promise<number> {
    const { ids, keys } = await this.jobs.purgeable(now, this.config.RETENTION_DAYS);
    if (ids.length === 0) return 0;
    for (const k of keys) await this.storage.delete(k).catch(() => undefined);
    await this.jobs.purged(ids, now);
    return ids.length;
  }
}
