import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { UploadStatusEvents } from '@app/contracts';
import { EventBus, Outbox, OutboxRelay } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { UploadStatusConfig } from '../config';
import { LighthouseClient, LighthouseError } from '../lighthouse/lighthouse.client';
import {
  IllegalTransitionError,
  targetState,
  transition,
  type UploadState,
} from '../uploads/state-machine';
import { UploadMetrics } from '../uploads/upload-metrics';
import {
  type PollOutcome,
  type TransitionRow,
  type UploadRow,
  UploadsRepository,
} from '../uploads/uploads.repository';

type EventOf<N extends keyof UploadStatusEvents> = { name: N; payload: UploadStatusEvents[N] };
type OutEvent =
  EventOf<'upload-status.upload.completed.v1'> | EventOf<'upload-status.upload.failed.v1'>;

export interface BatchResult {
  polled: number;
  transitions: number;
  /** Statements this batch sent to Postgres (load, then one transaction of writes). */
  statements: number;
}

/**
 * Polls one claimed batch: one bulk call, then every outcome, history row and event written
 * with a constant number of statements, whatever the batch size.
 */
@Injectable()
export class BatchWorker implements OnModuleInit {
  constructor(
    private readonly bus: EventBus,
    private readonly repo: UploadsRepository,
    private readonly lighthouse: LighthouseClient,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly metrics: UploadMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: UploadStatusConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.bus.on('upload-status.poll-batch.requested.v1', async (p) => {
      await this.pollBatch(p.claimToken);
    });
  }

  async pollBatch(token: string): Promise<BatchResult> {
    const end = this.metrics.batchDuration.startTimer();
    const rows = await this.repo.claimed(token);
    if (rows.length === 0) {
      end({ outcome: 'stale' });
      return { polled: 0, transitions: 0, statements: 1 };
    }
    this.metrics.batchSize.observe(rows.length);
    let answer;
    try {
      answer = await this.lighthouse.statuses(
        rows.map((r) => r.lighthouse_request_id),
        (code) => this.metrics.upstreamErrors.inc({ code }),
      );
    } catch (err) {
      const e = err as LighthouseError;
      const ids = rows.map((r) => r.lighthouse_request_id);
      if (e instanceof LighthouseError && !e.retryable) {
        // An unusable answer, or a refused token: this batch only, logged with its ids and
        // its own label (a refused assertion is configuration, not a malformed answer).
        this.logger.error(
          { code: e.code, err: e.message, requestIds: ids },
          'Lighthouse answer unusable; batch left for the next cycle',
        );
        await this.repo.release(token);
        end({ outcome: e.code === 'token_refused' ? 'token_refused' : 'malformed' });
        return { polled: 0, transitions: 0, statements: 2 };
      }
      // Out of retries: keep the claim until it expires, then another cycle takes the batch.
      this.logger.warn(
        { code: e.code, err: e.message, size: ids.length },
        'Lighthouse unavailable; batch keeps its claim',
      );
      end({ outcome: 'unavailable' });
      throw err;
    }
    if (answer.malformed > 0) {
      this.metrics.upstreamErrors.inc({ code: 'malformed_entry' }, answer.malformed);
      this.logger.warn(
        { malformed: answer.malformed, size: rows.length },
        'Lighthouse answer had unreadable entries; those uploads are asked again next cycle',
      );
    }
    const { outcomes, transitions, events } = this.decide(rows, answer.statuses, answer.notFound);
    await this.repo.ds.transaction(async (m) => {
      await this.repo.storeOutcomes(m, token, outcomes, transitions);
      await this.outbox.addMany(m, events);
    });
    if (events.length) this.relay.kick();
    this.count(rows, transitions);
    end({ outcome: 'ok' });
    // Load, then in one transaction: uploads, history (when any), events (when any).
    const statements = 1 + 1 + (transitions.length ? 1 : 0) + (events.length ? 1 : 0);
    return { polled: rows.length, transitions: transitions.length, statements };
  }

  /** Applies the answer to each row through the state machine; pure, so it is tested alone. */
  decide(
    rows: UploadRow[],
    statuses: Awaited<ReturnType<LighthouseClient['statuses']>>['statuses'],
    notFound: string[],
  ) {
    const byId = new Map(statuses.map((s) => [s.requestId, s]));
    const unknown = new Set(notFound);
    const asked = new Set(rows.map((r) => r.lighthouse_request_id));
    const strays = statuses.filter((s) => !asked.has(s.requestId)).map((s) => s.requestId);
    if (strays.length)
      this.logger.warn({ requestIds: strays }, 'Lighthouse answered for ids not asked; ignored');

    const now = Date.now();
    const outcomes: PollOutcome[] = [];
    const transitions: TransitionRow[] = [];
    const events: OutEvent[] = [];
    for (const r of rows) {
      const current: UploadState = {
        status: r.status,
        currentStep: r.current_step,
        errorStep: r.error_step,
        errorDetail: r.error_detail,
      };
      let next: UploadState = current;
      let notFoundSince = r.not_found_since ? r.not_found_since.toISOString() : null;
      const s = byId.get(r.lighthouse_request_id);
      if (s) {
        next = targetState(s);
        notFoundSince = null;
      } else if (unknown.has(r.lighthouse_request_id)) {
        notFoundSince ??= new Date(now).toISOString();
        if (now - Date.parse(notFoundSince) >= this.config.UNKNOWN_MAX_AGE_SECONDS * 1000) {
          next = {
            status: 'failed',
            currentStep: null,
            errorStep: null,
            errorDetail: `Lighthouse does not know request id ${r.lighthouse_request_id}`,
          };
        }
      }
      if (
        next.status === 'pending' &&
        now - r.created_at.getTime() >= this.config.STUCK_MAX_AGE_SECONDS * 1000
      ) {
        next = {
          status: 'failed',
          currentStep: null,
          errorStep: null,
          errorDetail: `no downstream step started within ${this.config.STUCK_MAX_AGE_SECONDS} s`,
        };
      }
      let t = null;
      try {
        t = transition(current, next);
      } catch (err) {
        if (!(err instanceof IllegalTransitionError)) throw err;
        this.metrics.illegalTransitions.inc({ from: err.from, to: err.to });
        this.logger.warn(
          { uploadId: r.id, from: err.from, to: err.to },
          'refused an illegal transition',
        );
        next = current;
      }
      outcomes.push({
        id: r.id,
        status: next.status,
        current_step: next.currentStep,
        error_step: next.errorStep,
        error_detail: next.errorDetail,
        not_found_since: notFoundSince,
        lighthouse_started_at: s?.startTime ?? null,
        lighthouse_ended_at: s?.endTime ?? null,
      });
      if (!t) continue;
      transitions.push({
        document_upload_id: r.id,
        from_status: t.from,
        to_status: t.to,
        step: t.step,
        detail: t.detail,
      });
      this.logger.info(
        {
          uploadId: r.id,
          requestId: r.lighthouse_request_id,
          documentType: r.document_type,
          from: t.from,
          to: t.to,
          step: t.step,
        },
        'upload transition',
      );
      const base = {
        uploadId: r.id,
        lighthouseRequestId: r.lighthouse_request_id,
        form526SubmissionId: r.form526_submission_id,
        documentType: r.document_type,
      };
      if (t.to === 'completed')
        events.push({
          name: 'upload-status.upload.completed.v1',
          payload: { ...base, completedAt: new Date(now).toISOString() },
        });
      if (t.to === 'failed')
        events.push({
          name: 'upload-status.upload.failed.v1',
          payload: {
            ...base,
            step: t.step,
            detail: t.detail,
            failedAt: new Date(now).toISOString(),
          },
        });
    }
    return { outcomes, transitions, events };
  }

  /** Each document counts under its own type, whatever else the batch held. */
  private count(rows: UploadRow[], transitions: TransitionRow[]): void {
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const t of transitions) {
      const r = byId.get(t.document_upload_id)!;
      this.metrics.transitions.inc({
        document_type: r.document_type,
        from: t.from_status,
        to: t.to_status,
      });
      if (t.to_status === 'completed') {
        const since = (r.uploaded_at ?? r.created_at).getTime();
        this.metrics.timeToCompletion.observe(
          { document_type: r.document_type },
          (Date.now() - since) / 1000,
        );
      }
    }
  }
}
