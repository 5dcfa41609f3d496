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
import type { RecipientRow, SessionRow } from './workflows.repository';
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
      const [rows] = await m.query<[Array<{ id: string }>, number]>(
        `UPDATE workflow_sessions SET status = 'EXPIRED', updated_at = $1 WHERE status = 'ACTIVE' AND expires_at <= $1 RETURNING id`,
        [now.toISOString()],
      );
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => r.id);
      await m.query(
        `UPDATE recipients SET status = 'EXPIRED', next_reminder_at = NULL, updated_at = $2
          WHERE session_id = ANY($1::uuid[]) AND status <> 'COMPLETED'`,
        [ids, now.toISOString()],
      );
      await m.query(
        `INSERT INTO workflow_audit_logs (session_id, event_type, event_data) SELECT id, 'expired', jsonb_build_object('at', $2::text) FROM unnest($1::uuid[]) id`,
        [ids, now.toISOString()],
      );
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
    const [rows] = await this.repo.ds.query<[Array<RecipientRow & { s: SessionRow }>, number]>(
      `UPDATE recipients r SET reminder_count = r.reminder_count + 1,
              next_reminder_at = CASE WHEN r.reminder_count + 1 >= $2 THEN NULL ELSE $1::timestamptz + make_interval(hours => $3) END,
              updated_at = $1
         FROM workflow_sessions s
        WHERE s.id = r.session_id AND s.status = 'ACTIVE' AND s.expires_at > $1
          AND r.order_index = s.current_recipient_order AND r.status <> 'COMPLETED'
          AND r.next_reminder_at <= $1 AND r.reminder_count < $2
       RETURNING r.*, to_jsonb(s.*) AS s`,
      [now.toISOString(), this.config.REMINDER_MAX, this.config.REMINDER_INTERVAL_HOURS],
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
    const sessions = await this.repo.ds.query<
      Array<{ id: string; original_key: string | null; document_key: string | null }>
    >(
      `SELECT id, original_key, document_key FROM workflow_sessions
        WHERE status IN ('EXPIRED', 'CANCELLED') AND purged_at IS NULL AND updated_at < $1::timestamptz - make_interval(days => $2)
        LIMIT 500`,
      [now.toISOString(), this.config.RETENTION_DAYS],
    );
    if (sessions.length === 0) return 0;
    const ids = sessions.map((s) => s.id);
    const attachments = await this.repo.ds.query<Array<{ storage_key: string }>>(
      `SELECT storage_key FROM attachments WHERE session_id = ANY($1::uuid[]) AND storage_key IS NOT NULL`,
      [ids],
    );
    const keys = [
      ...sessions.flatMap((s) => [s.original_key, s.document_key]),
      ...attachments.map((a) => a.storage_key),
    ].filter((k): k is string => !!k);
    for (const k of new Set(keys)) await this.storage.delete(k).catch(() => undefined);
    await this.repo.ds.transaction(async (m) => {
      await m.query(
        `UPDATE workflow_sessions SET original_key = NULL, document_key = NULL, purged_at = $2 WHERE id = ANY($1::uuid[])`,
        [ids, now.toISOString()],
      );
      await m.query(
        `UPDATE recipients SET form_data = '{}'::jsonb WHERE session_id = ANY($1::uuid[])`,
        [ids],
      );
      await m.query(
        `UPDATE attachments SET storage_key = NULL WHERE session_id = ANY($1::uuid[])`,
        [ids],
      );
      await m.query(
        `INSERT INTO workflow_audit_logs (session_id, event_type, event_data) SELECT id, 'purged', '{}'::jsonb FROM unnest($1::uuid[]) id`,
        [ids],
      );
    });
    return ids.length;
  }
}
