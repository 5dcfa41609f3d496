import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import { Outbox, OutboxRelay } from '@app/messaging';
import { LOGGER, scheduleEvery, SERVICE_CONFIG } from '@app/service-kit';
import type { UploadStatusConfig } from '../config';
import { UploadMetrics } from '../uploads/upload-metrics';
import { UploadsRepository } from '../uploads/uploads.repository';

/**
 * The scheduled job: it only claims due uploads in batches and queues each batch; workers on
 * every replica poll them. Every replica may run it: claims use SKIP LOCKED, so no upload is
 * claimed twice in a cycle.
 */
@Injectable()
export class Poller implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly repo: UploadsRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly metrics: UploadMetrics,
    private readonly scheduler: SchedulerRegistry,
    @Inject(SERVICE_CONFIG) private readonly config: UploadStatusConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private unschedule?: () => void;

  onApplicationBootstrap(): void {
    if (!this.config.POLLER_ENABLED) return;
    this.unschedule = scheduleEvery(
      this.scheduler,
      'upload-status.poll',
      this.config.POLL_TICK_SECONDS,
      () => this.tick(),
      this.logger,
    );
  }

  onApplicationShutdown(): void {
    this.unschedule?.();
  }

  /** One cycle, then the gauges. */
  async tick(): Promise<void> {
    await this.cycle();
    await this.refreshGauges();
  }

  /** Claims and queues batches until nothing is due; returns how many uploads were queued. */
  async cycle(): Promise<{ batches: number; uploads: number }> {
    const end = this.metrics.pollCycleDuration.startTimer();
    let batches = 0;
    let uploads = 0;
    const cycleStartedAt = new Date();
    for (; batches < this.config.POLL_MAX_BATCHES_PER_TICK;) {
      const token = randomUUID();
      const n = await this.repo.ds.transaction(async (m) => {
        const claimed = await this.repo.claimBatch(m, token, {
          size: this.config.POLL_BATCH_SIZE,
          intervalSeconds: this.config.POLL_INTERVAL_SECONDS,
          claimSeconds: this.config.POLL_CLAIM_SECONDS,
          cycleStartedAt,
        });
        if (claimed > 0)
          await this.outbox.add(m, 'upload-status.poll-batch.requested.v1', {
            claimToken: token,
            size: claimed,
          });
        return claimed;
      });
      if (n === 0) break;
      batches++;
      uploads += n;
      this.relay.kick();
      if (n < this.config.POLL_BATCH_SIZE) break;
    }
    end();
    this.metrics.lastPollCycle.setToCurrentTime();
    if (uploads > 0) this.logger.info({ batches, uploads }, 'poll cycle queued batches');
    return { batches, uploads };
  }

  async refreshGauges(): Promise<void> {
    const rows = await this.repo.gaugeSnapshot(this.config.IN_PROGRESS_MAX_AGE_SECONDS);
    this.metrics.uploads.reset();
    this.metrics.stuckInProgress.reset();
    let oldest = 0;
    for (const r of rows) {
      this.metrics.uploads.set({ document_type: r.document_type, status: r.status }, r.n);
      if (r.status === 'in_progress')
        this.metrics.stuckInProgress.set({ document_type: r.document_type }, r.stuck);
      oldest = Math.max(oldest, r.oldest_open_seconds ?? 0);
    }
    this.metrics.oldestOpenAge.set(oldest);
  }
}
