import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { RecipientRow, SessionRow } from './workflows.repository';

/**
 * The scheduled jobs' statements, each set-based: whatever a second replica runs at the same
 * moment finds nothing left to do (row locks and re-checked conditions).
 */
@Injectable()
export class JobsRepository {
  constructor(@InjectDataSource() readonly ds: DataSource) {}

  /** Active workflows past their expiry, expired (with their open steps), ids answered. */
  async expire(m: EntityManager, now: Date): Promise<string[]> {
    const [rows] = await m.query<[Array<{ id: string }>, number]>(
      `UPDATE workflow_sessions SET status = 'EXPIRED', updated_at = $1 WHERE status = 'ACTIVE' AND expires_at <= $1 RETURNING id`,
      [now.toISOString()],
    );
    const ids = rows.map((r) => r.id);
    if (ids.length === 0) return ids;
    await m.query(
      `UPDATE recipients SET status = 'EXPIRED', next_reminder_at = NULL, updated_at = $2
        WHERE session_id = ANY($1::uuid[]) AND status <> 'COMPLETED'`,
      [ids, now.toISOString()],
    );
    await m.query(
      `INSERT INTO workflow_audit_logs (session_id, event_type, event_data) SELECT id, 'expired', jsonb_build_object('at', $2::text) FROM unnest($1::uuid[]) id`,
      [ids, now.toISOString()],
    );
    return ids;
  }

  /**
   * The current recipients whose reminder is due, counted as reminded; the next one is
   * scheduled from now (missed ones collapse), none after `max`.
   */
  async dueReminders(
    now: Date,
    max: number,
    intervalHours: number,
  ): Promise<Array<RecipientRow & { s: SessionRow }>> {
    const [rows] = await this.ds.query<[Array<RecipientRow & { s: SessionRow }>, number]>(
      `UPDATE recipients r SET reminder_count = r.reminder_count + 1,
              next_reminder_at = CASE WHEN r.reminder_count + 1 >= $2 THEN NULL ELSE $1::timestamptz + make_interval(hours => $3) END,
              updated_at = $1
         FROM workflow_sessions s
        WHERE s.id = r.session_id AND s.status = 'ACTIVE' AND s.expires_at > $1
          AND r.order_index = s.current_recipient_order AND r.status <> 'COMPLETED'
          AND r.next_reminder_at <= $1 AND r.reminder_count < $2
       RETURNING r.*, to_jsonb(s.*) AS s`,
      [now.toISOString(), max, intervalHours],
    );
    return rows;
  }

  /** Ended workflows past the retention, with every file key they hold (500 at a time). */
  async purgeable(now: Date, retentionDays: number): Promise<{ ids: string[]; keys: string[] }> {
    const sessions = await this.ds.query<
      Array<{ id: string; original_key: string | null; document_key: string | null }>
    >(
      `SELECT id, original_key, document_key FROM workflow_sessions
        WHERE status IN ('EXPIRED', 'CANCELLED') AND purged_at IS NULL AND updated_at < $1::timestamptz - make_interval(days => $2)
        LIMIT 500`,
      [now.toISOString(), retentionDays],
    );
    const ids = sessions.map((s) => s.id);
    if (ids.length === 0) return { ids, keys: [] };
    const attachments = await this.ds.query<Array<{ storage_key: string }>>(
      `SELECT storage_key FROM attachments WHERE session_id = ANY($1::uuid[]) AND storage_key IS NOT NULL`,
      [ids],
    );
    const keys = [
      ...sessions.flatMap((s) => [s.original_key, s.document_key]),
      ...attachments.map((a) => a.storage_key),
    ].filter((k): k is string => !!k);
    return { ids, keys: [...new Set(keys)] };
  }

  /** Their files' keys and answers cleared, the purge in the audit (which stays). */
  async purged(ids: string[], now: Date): Promise<void> {
    await this.ds.transaction(async (m) => {
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
  }
}
