import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { Outbox, OutboxRelay } from '@app/messaging';
import { LOGGER, scheduleEvery, SERVICE_CONFIG } from '@app/service-kit';
import { type BlobStorage, streamToBuffer } from '@app/storage';
import type { PdfWorkflowConfig } from '../config';
import { PdfPool } from '../pdf/pdf-pool';
import { SealKeys } from '../pdf/seal-key';
import { BLOB_STORAGE } from './tokens';
import { type SessionRow, WorkflowsRepository } from './workflows.repository';

/**
 * Fills each workflow's document after its step has committed, never inside it: completing a
 * step answers at once, the document with the answers so far follows moments later, and the
 * last step's, flattened and sealed, completes the workflow (FINALIZING → COMPLETED, with its
 * event). The fill runs in the worker pool holding no connection or lock. A workflow is
 * claimed with a lease, so a replica that dies mid-fill is replaced by another; a failed fill
 * is tried again with a growing, jittered delay.
 */
@Injectable()
export class DocumentRenderer implements OnApplicationBootstrap, OnApplicationShutdown {
  private draining = false;
  private again = false;
  private stopped = false;
  private unschedule?: () => void;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly repo: WorkflowsRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly pdf: PdfPool,
    private readonly seals: SealKeys,
    private readonly scheduler: SchedulerRegistry,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onApplicationBootstrap(): void {
    this.unschedule = scheduleEvery(
      this.scheduler,
      'pdf-workflow.render',
      this.config.RENDER_TICK_SECONDS,
      () => this.drain(),
      this.logger,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unschedule?.();
    // A fill cut short is taken over by another replica when its lease ends.
    await Promise.allSettled([...this.inFlight]);
  }

  /** A step just committed: look for work now rather than at the next tick. */
  kick(): void {
    if (this.stopped) return;
    void this.drain().catch((err: unknown) =>
      this.logger.error({ err }, 'filling documents failed'),
    );
  }

  /** Fills what is waiting, as many at a time as the pool has threads, until nothing is. */
  async drain(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.again = false;
        for (;;) {
          if (this.stopped) return;
          const claimed = await this.repo.claimRenders(
            this.config.PDF_WORKER_THREADS,
            this.leaseSeconds(),
          );
          if (claimed.length === 0) break;
          await Promise.all(claimed.map((s) => this.track(this.render(s))));
        }
      } while (this.again);
    } finally {
      this.draining = false;
    }
  }

  private track(p: Promise<void>): Promise<void> {
    this.inFlight.add(p);
    return p.finally(() => this.inFlight.delete(p));
  }

  /** Longer than a fill may take (queue wait included), so a live fill keeps its workflow. */
  private leaseSeconds(): number {
    return Math.ceil((2 * this.config.RENDER_TIMEOUT_MS) / 1000) + 30;
  }

  private async render(s: SessionRow): Promise<void> {
    const step = s.completed_recipients;
    const last = step === s.total_recipients;
    let stored: { key: string; sha256: string } | undefined;
    try {
      const values = await this.repo.answersUpTo(s.id, step);
      const original = await streamToBuffer(await this.storage.get(s.original_key!));
      const bytes = await this.pdf.fill(
        original,
        values,
        last,
        last ? await this.seals.get() : undefined,
      );
      stored = await this.storage.put(
        `workflows/${s.id}/${last ? 'final' : `step-${step}`}-${randomUUID()}.pdf`,
        bytes,
        'application/pdf',
      );
      const doc = stored;
      const result = await this.repo.ds.transaction(async (m) => {
        const r = await this.repo.storeRender(m, s.id, step, last, doc);
        if (r && last) {
          await this.repo.audit(m, s.id, 'workflow_completed', null, null, {
            originalSha256: s.original_sha256,
            documentSha256: doc.sha256,
            sealed: true,
          });
          await this.outbox.add(m, 'pdf-workflow.workflow.completed.v1', {
            workflowId: s.id,
            documentSha256: doc.sha256,
            originalSha256: s.original_sha256,
          });
        }
        return r;
      });
      if (!result) {
        // Cancelled meanwhile, or a newer document is already there.
        await this.storage.delete(doc.key).catch(() => undefined);
        return;
      }
      if (result.replaced && result.replaced !== s.original_key)
        await this.storage.delete(result.replaced).catch(() => undefined);
      if (last) this.relay.kick();
    } catch (err) {
      if (stored) await this.storage.delete(stored.key).catch(() => undefined);
      const delay = this.retryDelay(s.render_attempts);
      this.logger.error(
        { workflowId: s.id, step, attempt: s.render_attempts, retryInSeconds: delay, err },
        'filling the document failed; it will be tried again',
      );
      await this.repo
        .renderFailed(s.id, delay, (err as Error).message ?? String(err))
        .catch(() => undefined);
    }
  }

  /** 5 s, 10 s, 20 s … up to RENDER_RETRY_MAX_SECONDS, each ±20% so replicas spread out. */
  private retryDelay(attempt: number): number {
    const base = Math.min(this.config.RENDER_RETRY_MAX_SECONDS, 5 * 2 ** Math.max(0, attempt - 1));
    return Math.max(1, Math.round(base * (0.8 + Math.random() * 0.4)));
  }
}
