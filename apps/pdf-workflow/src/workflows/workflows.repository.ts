import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { ClientInfo, RecipientView, WorkflowView } from '@app/contracts';
import type { FormField } from '../pdf/pdf-forms';

export interface SessionRow {
  id: string;
  original_key: string | null;
  original_sha256: string;
  document_key: string | null;
  document_sha256: string | null;
  status: WorkflowView['status'];
  creator_id: string;
  metadata: Record<string, unknown>;
  fields: FormField[];
  expires_at: Date;
  current_recipient_order: number;
  total_recipients: number;
  completed_recipients: number;
  completed_at: Date | null;
  created_at: Date;
  /** How many completed steps the current document shows (behind: it is being filled). */
  document_step: number;
  render_attempts: number;
}

export interface RecipientRow {
  id: string;
  session_id: string;
  order_index: number;
  link_hash: Buffer;
  access_code_hash: Buffer | null;
  access_code_failures: number;
  access_code_locked_at: Date | null;
  status: RecipientView['status'];
  recipient_type: RecipientView['type'];
  name: string;
  email: string | null;
  phone: string | null;
  fields: string[];
  form_data: Record<string, unknown>;
  email_sent_at: Date | null;
  sms_sent_at: Date | null;
  reminder_count: number;
  completed_at: Date | null;
}

export function recipientView(r: RecipientRow): RecipientView {
  return {
    id: r.id,
    orderIndex: r.order_index,
    type: r.recipient_type,
    name: r.name,
    status: r.status,
    fields: r.fields,
    emailSentAt: r.email_sent_at?.toISOString() ?? null,
    smsSentAt: r.sms_sent_at?.toISOString() ?? null,
    reminderCount: r.reminder_count,
    completedAt: r.completed_at?.toISOString() ?? null,
  };
}

export function workflowView(s: SessionRow): WorkflowView {
  return {
    id: s.id,
    status: s.status,
    creatorId: s.creator_id,
    metadata: s.metadata,
    expiresAt: s.expires_at.toISOString(),
    currentRecipientOrder: s.current_recipient_order,
    totalRecipients: s.total_recipients,
    completedRecipients: s.completed_recipients,
    originalSha256: s.original_sha256,
    documentSha256: s.document_sha256,
    createdAt: s.created_at.toISOString(),
    completedAt: s.completed_at?.toISOString() ?? null,
  };
}

@Injectable()
export class WorkflowsRepository {
  constructor(@InjectDataSource() readonly ds: DataSource) {}

  async audit(
    m: EntityManager | DataSource,
    sessionId: string,
    eventType: string,
    client: ClientInfo | null,
    recipientId: string | null = null,
    data: Record<string, unknown> = {},
  ): Promise<void> {
    await m.query(
      `INSERT INTO workflow_audit_logs (session_id, recipient_id, event_type, event_data, ip_address, user_agent)
       VALUES ($1, $2, $3, $4::jsonb, $5::inet, $6)`,
      [
        sessionId,
        recipientId,
        eventType,
        JSON.stringify(data),
        validIp(client?.ip),
        client?.userAgent?.slice(0, 500) ?? null,
      ],
    );
  }

  /** The recipient a link leads to, with its workflow, by the link's hash (the unique index). */
  async byLink(m: EntityManager | DataSource, linkHash: Buffer, lock = false) {
    const rows = await m.query<Array<RecipientRow & { s: SessionRow }>>(
      `SELECT r.*, to_jsonb(s.*) AS s FROM recipients r JOIN workflow_sessions s ON s.id = r.session_id
        WHERE r.link_hash = $1 ${lock ? 'FOR UPDATE OF r, s' : ''}`,
      [linkHash],
    );
    const row = rows[0];
    if (!row) return null;
    const s = row.s as unknown as Record<string, unknown>;
    const session = {
      ...s,
      expires_at: new Date(s.expires_at as string),
      created_at: new Date(s.created_at as string),
      completed_at: s.completed_at ? new Date(s.completed_at as string) : null,
    } as SessionRow;
    return { recipient: row as RecipientRow, session };
  }

  /** Counts a wrong access code; the step locks when the count reaches `limit`. */
  async accessCodeFailed(
    recipientId: string,
    limit: number,
  ): Promise<{ failures: number; lockedNow: boolean }> {
    const [rows] = await this.ds.query<[Array<{ failures: number; locked_now: boolean }>, number]>(
      `UPDATE recipients r
          SET access_code_failures = r.access_code_failures + 1,
              access_code_locked_at = CASE WHEN r.access_code_failures + 1 >= $2 THEN coalesce(r.access_code_locked_at, now()) END
         FROM (SELECT id, access_code_locked_at IS NULL AS open FROM recipients WHERE id = $1) before
        WHERE r.id = before.id
        RETURNING r.access_code_failures AS failures, (before.open AND r.access_code_locked_at IS NOT NULL) AS locked_now`,
      [recipientId, limit],
    );
    return { failures: rows[0]?.failures ?? limit, lockedNow: rows[0]?.locked_now ?? false };
  }

  /** A right code clears the count of wrong ones (a lock stays until the code is resent). */
  async accessCodeAccepted(m: EntityManager | DataSource, recipientId: string): Promise<void> {
    await m.query(
      `UPDATE recipients SET access_code_failures = 0 WHERE id = $1 AND access_code_failures > 0 AND access_code_locked_at IS NULL`,
      [recipientId],
    );
  }

  /** A freshly sent access code replaces the last; a lock lifts with it. */
  async newAccessCode(recipientId: string, hash: Buffer): Promise<void> {
    await this.ds.query(
      `UPDATE recipients SET access_code_hash = $2, access_code_failures = 0, access_code_locked_at = NULL WHERE id = $1`,
      [recipientId, hash],
    );
  }

  /** What was sent, and when the first reminder is due. */
  async notified(
    recipientId: string,
    sent: { email: boolean; sms: boolean },
    reminderHours: number,
  ): Promise<void> {
    await this.ds.query(
      `UPDATE recipients SET email_sent_at = CASE WHEN $2 THEN now() ELSE email_sent_at END,
              sms_sent_at = CASE WHEN $3 THEN now() ELSE sms_sent_at END,
              next_reminder_at = coalesce(next_reminder_at, now() + make_interval(hours => $4)), updated_at = now()
        WHERE id = $1`,
      [recipientId, sent.email, sent.sms, reminderHours],
    );
  }

  /** A notice that failed: counted, and the reminder job tries within 15 minutes. */
  async notifyFailed(recipientId: string, message: string): Promise<void> {
    await this.ds.query(
      `UPDATE recipients SET error_message = $2, retry_count = retry_count + 1,
              next_reminder_at = coalesce(next_reminder_at, now() + interval '15 minutes') WHERE id = $1`,
      [recipientId, message.slice(0, 500)],
    );
  }

  /** Marks the recipient's step opened (once). */
  async accessed(m: EntityManager, recipientId: string): Promise<void> {
    await m.query(
      `UPDATE recipients SET status = 'ACCESSED', accessed_at = now(), updated_at = now() WHERE id = $1 AND status = 'PENDING'`,
      [recipientId],
    );
  }

  /** Merges saved answers into the recipient's, who is then in progress. */
  async saveAnswers(
    m: EntityManager,
    recipientId: string,
    data: Record<string, unknown>,
  ): Promise<RecipientRow> {
    const [rows] = await m.query<[RecipientRow[], number]>(
      `UPDATE recipients SET form_data = form_data || $2::jsonb, status = 'IN_PROGRESS', updated_at = now() WHERE id = $1 RETURNING *`,
      [recipientId, JSON.stringify(data)],
    );
    return rows[0];
  }

  /**
   * The recipient's step done, the workflow one step on; after the last step it waits in
   * FINALIZING for its sealed document. Answers the workflow as it now is.
   */
  async completeStep(
    m: EntityManager,
    sessionId: string,
    recipientId: string,
  ): Promise<SessionRow> {
    await m.query(
      `UPDATE recipients SET status = 'COMPLETED', completed_at = now(), next_reminder_at = NULL, updated_at = now() WHERE id = $1`,
      [recipientId],
    );
    const [[s]] = await m.query<[SessionRow[], number]>(
      `UPDATE workflow_sessions SET completed_recipients = completed_recipients + 1, current_recipient_order = current_recipient_order + 1,
              status = CASE WHEN completed_recipients + 1 = total_recipients THEN 'FINALIZING' ELSE status END,
              render_after = NULL, updated_at = now()
        WHERE id = $1 RETURNING *`,
      [sessionId],
    );
    return s;
  }

  async addAttachment(
    m: EntityManager,
    a: {
      sessionId: string;
      recipientId: string;
      fileName: string;
      fileType: string;
      size: number;
      key: string | null;
      sha256: string;
      scan: string;
    },
  ): Promise<string> {
    const rows = await m.query<Array<{ id: string }>>(
      `INSERT INTO attachments (session_id, recipient_id, file_name, file_type, file_size, storage_key, checksum, scan_status)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
      [a.sessionId, a.recipientId, a.fileName, a.fileType, a.size, a.key, a.sha256, a.scan],
    );
    return rows[0].id;
  }

  /** The workflow, if the tenant has it (null: any tenant, for an operator's read or a job). */
  async session(
    m: EntityManager | DataSource,
    id: string,
    tenant: string | null,
    lock = false,
  ): Promise<SessionRow | null> {
    const rows = await m.query<SessionRow[]>(
      `SELECT * FROM workflow_sessions WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)
        ${lock ? 'FOR UPDATE' : ''}`,
      [id, tenant],
    );
    return rows[0] ?? null;
  }

  /**
   * Takes up to `limit` workflows whose document is behind their completed steps, for
   * `leaseSeconds` (another replica takes one over after that); one `id` when given. SKIP
   * LOCKED: replicas never take the same one.
   */
  async claimRenders(limit: number, leaseSeconds: number, id?: string): Promise<SessionRow[]> {
    const [rows] = await this.ds.query<[SessionRow[], number]>(
      `UPDATE workflow_sessions SET render_after = now() + make_interval(secs => $2), render_attempts = render_attempts + 1
        WHERE id IN (SELECT id FROM workflow_sessions
                      WHERE document_step < completed_recipients AND status IN ('ACTIVE', 'FINALIZING')
                        AND (render_after IS NULL OR render_after <= now()) AND ($3::uuid IS NULL OR id = $3)
                      ORDER BY render_after NULLS FIRST LIMIT $1 FOR UPDATE SKIP LOCKED)
        RETURNING *`,
      [limit, leaseSeconds, id ?? null],
    );
    return rows;
  }

  /** The answers of the first `step` recipients, later ones over earlier ones. */
  async answersUpTo(sessionId: string, step: number): Promise<Record<string, unknown>> {
    const rows = await this.ds.query<Array<{ data: Record<string, unknown> | null }>>(
      `SELECT jsonb_object_agg(k, v ORDER BY order_index) AS data
         FROM (SELECT r.order_index, e.key AS k, e.value AS v FROM recipients r, jsonb_each(r.form_data) e
                WHERE r.session_id = $1 AND r.order_index < $2) x`,
      [sessionId, step],
    );
    return rows[0]?.data ?? {};
  }

  /**
   * Stores a filled document as the workflow's current one if it is still the newest (a
   * cancel or another replica's newer document wins); the last step's also completes the
   * workflow. Answers the key it replaced, or null when nothing was stored.
   */
  async storeRender(
    m: EntityManager,
    id: string,
    step: number,
    last: boolean,
    doc: { key: string; sha256: string },
  ): Promise<{ replaced: string | null; session: SessionRow } | null> {
    const [rows] = await m.query<[Array<SessionRow & { replaced: string | null }>, number]>(
      `UPDATE workflow_sessions s SET document_key = $3, document_step = $2, render_after = NULL, render_attempts = 0,
              render_error = NULL, updated_at = now(),
              status = CASE WHEN $4 THEN 'COMPLETED' ELSE s.status END,
              completed_at = CASE WHEN $4 THEN now() ELSE s.completed_at END,
              document_sha256 = CASE WHEN $4 THEN $5 ELSE s.document_sha256 END
         FROM (SELECT id, document_key FROM workflow_sessions WHERE id = $1 FOR UPDATE) old
        WHERE s.id = old.id AND s.document_step < $2 AND s.completed_recipients >= $2
          AND s.status IN ('ACTIVE', 'FINALIZING') AND ($4 = false OR s.status = 'FINALIZING')
        RETURNING s.*, old.document_key AS replaced`,
      [id, step, doc.key, last, doc.sha256],
    );
    const row = rows[0];
    return row ? { replaced: row.replaced, session: row } : null;
  }

  /** A failed fill: tried again after `delaySeconds`, the reason kept for operators. */
  async renderFailed(id: string, delaySeconds: number, message: string): Promise<void> {
    await this.ds.query(
      `UPDATE workflow_sessions SET render_after = now() + make_interval(secs => $2), render_error = $3 WHERE id = $1`,
      [id, delaySeconds, message.slice(0, 500)],
    );
  }

  recipients(m: EntityManager | DataSource, sessionId: string): Promise<RecipientRow[]> {
    return m.query<RecipientRow[]>(
      `SELECT * FROM recipients WHERE session_id = $1 ORDER BY order_index`,
      [sessionId],
    );
  }
}

function validIp(ip: string | null | undefined): string | null {
  if (!ip) return null;
  return /^[0-9a-fA-F:.]{2,45}$/.test(ip) ? ip : null;
}
