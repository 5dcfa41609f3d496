import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { RecipientType, WorkflowStatus } from '@app/contracts';
import type { FormField } from '../pdf/pdf-forms';
import type { RecipientRow, SessionRow } from './workflows.repository';

export interface NewRecipient {
  id: string;
  linkHash: Buffer;
  type: RecipientType;
  name: string;
  email: string | null;
  phone: string | null;
  fields: string[];
  accessCode: boolean;
}

export interface AttachmentRow {
  id: string;
  file_name: string;
  file_type: string;
  file_size: string;
  checksum: string;
  scan_status: string;
  download_count: number;
}

export interface AuditRow {
  event_type: string;
  recipient_id: string | null;
  event_data: Record<string, unknown>;
  ip_address: string | null;
  user_agent: string | null;
  created_at: Date;
}

/** The creators' queries: new workflows, lists, changes, the audit read, figures, downloads. */
@Injectable()
export class CreatorsRepository {
  constructor(@InjectDataSource() readonly ds: DataSource) {}

  async insertWorkflow(
    m: EntityManager,
    w: {
      documentKey: string;
      sha256: string;
      creatorId: string;
      tenantId: string;
      metadata: Record<string, unknown>;
      fields: FormField[];
      hours: number;
      recipients: number;
    },
  ): Promise<SessionRow> {
    const [s] = await m.query<SessionRow[]>(
      `INSERT INTO workflow_sessions (original_key, original_sha256, document_key, creator_id, metadata, fields, expires_at, total_recipients, tenant_id)
       VALUES ($1, $2, $1, $3, $4::jsonb, $5::jsonb, now() + make_interval(hours => $6), $7, $8) RETURNING *`,
      [
        w.documentKey,
        w.sha256,
        w.creatorId,
        JSON.stringify(w.metadata),
        JSON.stringify(w.fields),
        w.hours,
        w.recipients,
        w.tenantId,
      ],
    );
    return s;
  }

  /** Every recipient in one statement, in order. */
  async insertRecipients(
    m: EntityManager,
    sessionId: string,
    recipients: NewRecipient[],
  ): Promise<RecipientRow[]> {
    const rows = await m.query<RecipientRow[]>(
      // A recipient with an access code gets a placeholder hash until the code is sent.
      `INSERT INTO recipients (id, session_id, order_index, link_hash, recipient_type, name, email, phone, fields, access_code_hash)
       SELECT x.id, $1, x.i, decode(x.h, 'hex'), x.t, x.n, x.e, x.p, ARRAY(SELECT jsonb_array_elements_text(x.f)),
              CASE WHEN x.c THEN decode('00', 'hex') END
         FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, i int, h text, t text, n text, e text, p text, f jsonb, c boolean)
       RETURNING *`,
      [
        sessionId,
        JSON.stringify(
          recipients.map((p, i) => ({
            id: p.id,
            i,
            h: p.linkHash.toString('hex'),
            t: p.type,
            n: p.name,
            e: p.email,
            p: p.phone,
            f: p.fields,
            c: p.accessCode,
          })),
        ),
      ],
    );
    return rows.sort((a, b) => a.order_index - b.order_index);
  }

  attachments(sessionId: string): Promise<AttachmentRow[]> {
    return this.ds.query<AttachmentRow[]>(
      `SELECT id, file_name, file_type, file_size, checksum, scan_status, download_count FROM attachments WHERE session_id = $1 ORDER BY created_at`,
      [sessionId],
    );
  }

  /** A page of the tenant's workflows (any tenant's: null), newest first, after a cursor. */
  list(q: {
    tenant: string | null;
    status: WorkflowStatus | null;
    creatorId: string | null;
    after: { c: string; i: string } | null;
    limit: number;
  }): Promise<SessionRow[]> {
    return this.ds.query<SessionRow[]>(
      `SELECT * FROM workflow_sessions
        WHERE ($6::text IS NULL OR tenant_id = $6)
          AND ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR creator_id = $2)
          AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $5`,
      [q.status, q.creatorId, q.after?.c ?? null, q.after?.i ?? null, q.limit, q.tenant],
    );
  }

  /** Cancelled, with no reminder left to send. */
  async cancel(m: EntityManager, id: string): Promise<void> {
    await m.query(
      `UPDATE workflow_sessions SET status = 'CANCELLED', updated_at = now() WHERE id = $1`,
      [id],
    );
    await m.query(
      `UPDATE recipients SET next_reminder_at = NULL, updated_at = now() WHERE session_id = $1`,
      [id],
    );
  }

  async extend(m: EntityManager, id: string, hours: number): Promise<void> {
    await m.query(
      `UPDATE workflow_sessions SET expires_at = greatest(expires_at, now()) + make_interval(hours => $2), updated_at = now() WHERE id = $1`,
      [id, hours],
    );
  }

  auditLog(sessionId: string): Promise<AuditRow[]> {
    return this.ds.query<AuditRow[]>(
      `SELECT event_type, recipient_id, event_data, host(ip_address) AS ip_address, user_agent, created_at FROM workflow_audit_logs WHERE session_id = $1 ORDER BY id`,
      [sessionId],
    );
  }

  /** Counts by status, completion time percentiles, recipients by type and status. */
  async stats(tenant: string | null) {
    const [byStatus, completion, byType] = await Promise.all([
      this.ds.query<Array<{ status: string; n: number }>>(
        `SELECT status, count(*)::int AS n FROM workflow_sessions
          WHERE ($1::text IS NULL OR tenant_id = $1) GROUP BY status`,
        [tenant],
      ),
      this.ds.query<Array<{ p50: number | null; p90: number | null; avg: number | null }>>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50, percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90, avg(s)::float8 AS avg
           FROM (SELECT extract(epoch FROM completed_at - created_at)::float8 AS s FROM workflow_sessions
                  WHERE status = 'COMPLETED' AND ($1::text IS NULL OR tenant_id = $1)) t`,
        [tenant],
      ),
      this.ds.query<Array<{ t: string; status: string; n: number }>>(
        `SELECT r.recipient_type AS t, r.status, count(*)::int AS n
           FROM recipients r JOIN workflow_sessions s ON s.id = r.session_id
          WHERE ($1::text IS NULL OR s.tenant_id = $1) GROUP BY 1, 2`,
        [tenant],
      ),
    ]);
    return { byStatus, completion: completion[0], byType };
  }

  /** A clean attachment's file, its download counted; null if there is none to download. */
  async downloadAttachment(
    sessionId: string,
    attachmentId: string,
  ): Promise<{ storage_key: string; file_name: string; file_type: string } | null> {
    const [rows] = await this.ds.query<
      [Array<{ storage_key: string | null; file_name: string; file_type: string }>, number]
    >(
      `UPDATE attachments SET download_count = download_count + 1, last_download = now()
        WHERE id = $1 AND session_id = $2 AND scan_status = 'clean' AND storage_key IS NOT NULL
        RETURNING storage_key, file_name, file_type`,
      [attachmentId, sessionId],
    );
    const a = rows[0];
    return a?.storage_key ? { ...a, storage_key: a.storage_key } : null;
  }
}
