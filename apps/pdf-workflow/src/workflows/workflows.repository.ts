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
