import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import type { ExtractionEvents, PlatformEvents } from '@app/contracts';
import { Outbox, OutboxRelay } from '@app/messaging';
import { LOGGER, scheduleEvery, SERVICE_CONFIG } from '@app/service-kit';
import type { ExtractionConfig } from '../config';
import { TaskWorker } from './task.worker';

/**
 * Scheduled on every replica (claims use SKIP LOCKED): queue again tasks and exports whose
 * message was lost or whose worker died without the broker noticing, announce runs whose worker died after their last task, renew
 * Gmail watches before they lapse, and sync automations
 * that have not synced for a while in case a push was lost.
 */
@Injectable()
export class Maintenance implements OnApplicationBootstrap, OnApplicationShutdown {
  private unschedule?: () => void;

  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly worker: TaskWorker,
    private readonly scheduler: SchedulerRegistry,
    @Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.config.JOBS_ENABLED) return;
    this.unschedule = scheduleEvery(
      this.scheduler,
      'extraction.maintenance',
      this.config.JOB_TICK_SECONDS,
      () => this.tick(),
      this.logger,
    );
  }

  onApplicationShutdown(): void {
    this.unschedule?.();
  }

  async tick(now = new Date()) {
    return {
      requeued: await this.requeueStaleTasks(now),
      exports: await this.requeueStaleExports(now),
      announced: await this.announceFinishedRuns(now),
      watches: await this.renewWatches(now),
      syncs: await this.queueSyncs(now),
    };
  }

  /** Tasks whose message was lost, dead-lettered, or held by a worker that died unnoticed. */
  requeueStaleTasks(now = new Date()): Promise<number> {
    return this.claimAndQueue(
      'stale tasks',
      `UPDATE extraction_tasks SET updated_at = $1
        WHERE id IN (SELECT id FROM extraction_tasks
                      WHERE status IN ('pending', 'processing') AND updated_at < $1::timestamptz - make_interval(secs => $2)
                      ORDER BY updated_at LIMIT 1000 FOR UPDATE SKIP LOCKED)
        RETURNING id, run_id`,
      [now, this.config.TASK_STALE_SECONDS],
      (r: { id: string; run_id: string }) => ({
        name: 'extraction.task.requested.v1' as const,
        payload: { taskId: r.id, runId: r.run_id },
      }),
    );
  }

  /** Exports whose message was lost or dead-lettered: queued again, as tasks are. */
  requeueStaleExports(now = new Date()): Promise<number> {
    return this.claimAndQueue(
      'stale exports',
      `UPDATE job_exports SET updated_at = $1
        WHERE id IN (SELECT id FROM job_exports
                      WHERE status IN ('pending', 'in_progress')
                        AND updated_at < $1::timestamptz - make_interval(secs => $2)
                      ORDER BY updated_at LIMIT 500 FOR UPDATE SKIP LOCKED)
        RETURNING id`,
      [now, this.config.TASK_STALE_SECONDS],
      (r: { id: string }) => ({
        name: 'extraction.export.requested.v1' as const,
        payload: { exportId: r.id },
      }),
    );
  }

  /** Runs whose last task finished but whose worker died before announcing them. */
  async announceFinishedRuns(now = new Date()): Promise<number> {
    const runs = await this.ds.query<Array<{ id: string }>>(
      `SELECT id FROM job_runs WHERE announced_at IS NULL AND completed_at IS NOT NULL
          AND completed_at < $1::timestamptz - interval '30 seconds' LIMIT 100`,
      [now],
    );
    let n = 0;
    for (const r of runs) if (await this.worker.announce(r.id)) n++;
    return n;
  }

  /** Queues a renewal for each mailbox whose watch lapses soon (claimed, so once a while). */
  renewWatches(now = new Date()): Promise<number> {
    return this.claimAndQueue(
      'watch renewals',
      `UPDATE integration_accounts SET watch_renew_after = $1::timestamptz + interval '5 minutes'
        WHERE id IN (
          SELECT i.id FROM integration_accounts i
           WHERE i.provider = 'google' AND i.disconnected_at IS NULL
             AND (i.watch_expires_at IS NULL OR i.watch_expires_at < $1::timestamptz + make_interval(hours => $2))
             AND (i.watch_renew_after IS NULL OR i.watch_renew_after < $1)
             AND EXISTS (SELECT 1 FROM automations a WHERE a.integration_account_id = i.id AND a.is_enabled)
           LIMIT 100 FOR UPDATE SKIP LOCKED)
        RETURNING id`,
      [now, this.config.GMAIL_WATCH_RENEW_BEFORE_HOURS],
      (r: { id: string }) => ({
        name: 'extraction.watch.renewal.requested.v1' as const,
        payload: { accountId: r.id },
      }),
    );
  }

  /** Automations not synced for a while (a push may have been lost). */
  queueSyncs(now = new Date()): Promise<number> {
    return this.claimAndQueue(
      'automation syncs',
      `UPDATE automations SET last_synced_at = $1
        WHERE id IN (SELECT id FROM automations
                      WHERE is_enabled AND (last_synced_at IS NULL OR last_synced_at < $1::timestamptz - make_interval(secs => $2))
                      LIMIT 500 FOR UPDATE SKIP LOCKED)
        RETURNING id`,
      [now, this.config.AUTOMATION_SYNC_SECONDS],
      (r: { id: string }) => ({
        name: 'extraction.automation.sync.requested.v1' as const,
        payload: { automationId: r.id },
      }),
    );
  }

  /**
   * One claim (an UPDATE … RETURNING over rows locked with SKIP LOCKED, so replicas never take
   * the same ones) and its messages, in one transaction: the sweeps only claim and enqueue.
   */
  private async claimAndQueue<R, N extends keyof ExtractionEvents>(
    what: string,
    claim: string,
    params: unknown[],
    toEvent: (row: R) => { name: N; payload: PlatformEvents[N] },
  ): Promise<number> {
    const n = await this.ds.transaction(async (m) => {
      const [rows] = await m.query<[R[], number]>(claim, params);
      await this.outbox.addMany(m, rows.map(toEvent));
      return rows.length;
    });
    if (n) {
      this.relay.kick();
      this.logger.info({ n }, `${what} queued`);
    }
    return n;
  }
}
