import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import {
  type Actor,
  type ClientInfo,
  readScope,
  type StoredFile,
  type WorkflowStatus,
  type WorkflowView,
  isUuid,
  isWorkflowUploadKey,
  type RpcRequest,
  workflowUploadPrefix,
} from '@app/contracts';
import { assertActor, Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { SERVICE_CONFIG } from '@app/service-kit';
import { type BlobStorage, streamToBuffer } from '@app/storage';
import { randomUUID } from 'node:crypto';
import { hashToken, linkToken, linkUrlFor } from '../adapters/links';
import type { PdfWorkflowConfig } from '../config';
import { PdfPool } from '../pdf/pdf-pool';
import {
  type RecipientRow,
  recipientView,
  type SessionRow,
  workflowView,
  WorkflowsRepository,
} from './workflows.repository';
import { BLOB_STORAGE } from './tokens';
import { validateRecipients } from './recipient-validation';
import { TurnNotifier } from './turn-notifier';

/**
 * The creators' side of workflows: create, read, list, cancel, extend, resend, audit,
 * stats and downloads. Every query is limited to the caller's tenant (an operator reads
 * across tenants); recipients act through their links in WorkflowsService.
 */
@Injectable()
export class CreatorsService {
  constructor(
    private readonly repo: WorkflowsRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly turns: TurnNotifier,
    private readonly pdf: PdfPool,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig,
  ) {}

  async create(r: RpcRequest<'pdf-workflow.workflow.create.v1'>) {
    assertActor(r?.actor);
    const { tenantId, callerId: creatorId } = r.actor;
    if (!Array.isArray(r.recipients) || r.recipients.length < 1 || r.recipients.length > 20) {
      throw rpcError('validation_failed', 'recipients must list 1 to 20 recipients in order', {
        field: 'recipients',
      });
    }
    const hours = r.expiresInHours ?? this.config.DEFAULT_EXPIRY_HOURS;
    if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 90)
      throw rpcError('validation_failed', 'expiresInHours must be 1 to 2160', {
        field: 'expiresInHours',
      });
    // Only the creator's own uploads: a key of any other namespace is someone else's blob.
    if (!isWorkflowUploadKey(r.documentKey, workflowUploadPrefix(tenantId, creatorId)))
      throw rpcError('validation_failed', 'documentKey is not one of your uploads', {
        field: 'documentKey',
      });
    const head = await this.storage.head(r.documentKey).catch(() => null);
    if (!head)
      throw rpcError('validation_failed', 'the PDF was not found in storage', {
        field: 'documentKey',
      });
    const fields = await this.pdf.fields(
      await streamToBuffer(await this.storage.get(r.documentKey)),
    );
    validateRecipients(r.recipients, fields);

    const ids = r.recipients.map(() => randomUUID());
    const tokens = ids.map((id) => linkToken(this.config.LINK_SECRET, id));
    const { session, recipients } = await this.repo.ds.transaction(async (m) => {
      const [s] = await m.query<SessionRow[]>(
        `INSERT INTO workflow_sessions (original_key, original_sha256, document_key, creator_id, metadata, fields, expires_at, total_recipients, tenant_id)
         VALUES ($1, $2, $1, $3, $4::jsonb, $5::jsonb, now() + make_interval(hours => $6), $7, $8) RETURNING *`,
        [
          r.documentKey,
          head.sha256,
          creatorId,
          JSON.stringify(r.metadata ?? {}),
          JSON.stringify(fields),
          hours,
          r.recipients.length,
          tenantId,
        ],
      );
      const rows = await m.query<RecipientRow[]>(
        // A recipient with an access code gets a placeholder hash until the code is sent.
        `INSERT INTO recipients (id, session_id, order_index, link_hash, recipient_type, name, email, phone, fields, access_code_hash)
         SELECT x.id, $1, x.i, decode(x.h, 'hex'), x.t, x.n, x.e, x.p, ARRAY(SELECT jsonb_array_elements_text(x.f)),
                CASE WHEN x.c THEN decode('00', 'hex') END
           FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, i int, h text, t text, n text, e text, p text, f jsonb, c boolean)
         RETURNING *`,
        [
          s.id,
          JSON.stringify(
            r.recipients.map((p, i) => ({
              id: ids[i],
              i,
              h: hashToken(tokens[i]).toString('hex'),
              t: p.type,
              n: p.name,
              e: p.email ?? null,
              p: p.phone ?? null,
              f: p.fields ?? [],
              c: !!p.accessCode,
            })),
          ),
        ],
      );
      rows.sort((a, b) => a.order_index - b.order_index);
      await this.repo.audit(m, s.id, 'created', r.client, null, {
        recipients: rows.length,
        originalSha256: head.sha256,
      });
      await this.outbox.add(m, 'pdf-workflow.workflow.created.v1', {
        workflowId: s.id,
        creatorId,
        recipients: rows.length,
      });
      return { session: s, recipients: rows };
    });
    this.relay.kick();
    await this.turns.notifyTurn(session, recipients[0]);
    return {
      workflow: {
        ...workflowView(session),
        recipients: (await this.repo.recipients(this.repo.ds, session.id)).map(recipientView),
      },
      links: recipients.map((x) => ({
        recipientId: x.id,
        orderIndex: x.order_index,
        url: this.linkUrl(tokens[x.order_index]),
      })),
    };
  }

  async get(actor: Actor, id: string): Promise<WorkflowView> {
    assertActor(actor);
    const s = await this.sessionOr404(id, readScope(actor));
    const [recipients, attachments] = await Promise.all([
      this.repo.recipients(this.repo.ds, id),
      this.repo.ds.query<
        Array<{
          id: string;
          file_name: string;
          file_type: string;
          file_size: string;
          checksum: string;
          scan_status: string;
          download_count: number;
        }>
      >(
        `SELECT id, file_name, file_type, file_size, checksum, scan_status, download_count FROM attachments WHERE session_id = $1 ORDER BY created_at`,
        [id],
      ),
    ]);
    return {
      ...workflowView(s),
      recipients: recipients.map(recipientView),
      attachments: attachments.map((a) => ({
        id: a.id,
        fileName: a.file_name,
        fileType: a.file_type,
        fileSize: Number(a.file_size),
        checksum: a.checksum,
        scanStatus: a.scan_status,
        downloadCount: a.download_count,
      })),
    };
  }

  async list(
    actor: Actor,
    q: { status?: WorkflowStatus; creatorId?: string; limit?: number; cursor?: string },
  ) {
    assertActor(actor);
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 200);
    let after: { c: string; i: string } | null = null;
    if (q.cursor) {
      try {
        after = JSON.parse(Buffer.from(q.cursor, 'base64url').toString()) as {
          c: string;
          i: string;
        };
        if (!isUuid(after.i) || Number.isNaN(Date.parse(after.c))) throw new Error();
      } catch {
        throw rpcError('validation_failed', 'cursor is not one this service issued', {
          field: 'cursor',
        });
      }
    }
    const rows = await this.repo.ds.query<SessionRow[]>(
      `SELECT * FROM workflow_sessions
        WHERE ($6::text IS NULL OR tenant_id = $6)
          AND ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR creator_id = $2)
          AND ($3::timestamptz IS NULL OR (created_at, id) < ($3::timestamptz, $4::uuid))
        ORDER BY created_at DESC, id DESC LIMIT $5`,
      [
        q.status ?? null,
        q.creatorId ?? null,
        after?.c ?? null,
        after?.i ?? null,
        limit + 1,
        readScope(actor),
      ],
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      data: page.map(workflowView),
      nextCursor:
        rows.length > limit && last
          ? Buffer.from(JSON.stringify({ c: last.created_at.toISOString(), i: last.id })).toString(
              'base64url',
            )
          : null,
    };
  }

  async cancel(actor: Actor, id: string, client: ClientInfo): Promise<WorkflowView> {
    assertActor(actor);
    await this.repo.ds.transaction(async (m) => {
      await this.activeSession(m, actor, id);
      await m.query(
        `UPDATE workflow_sessions SET status = 'CANCELLED', updated_at = now() WHERE id = $1`,
        [id],
      );
      await m.query(
        `UPDATE recipients SET next_reminder_at = NULL, updated_at = now() WHERE session_id = $1`,
        [id],
      );
      await this.repo.audit(m, id, 'cancelled', client);
      await this.outbox.add(m, 'pdf-workflow.workflow.cancelled.v1', { workflowId: id });
    });
    this.relay.kick();
    return this.get(actor, id);
  }

  /** Moves an active workflow's expiry later; the expiry job re-checks it under the row lock. */
  async extend(actor: Actor, id: string, hours: number, client: ClientInfo): Promise<WorkflowView> {
    assertActor(actor);
    if (!Number.isInteger(hours) || hours < 1 || hours > 24 * 90)
      throw rpcError('validation_failed', 'hours must be 1 to 2160', { field: 'hours' });
    await this.repo.ds.transaction(async (m) => {
      await this.activeSession(m, actor, id);
      await m.query(
        `UPDATE workflow_sessions SET expires_at = greatest(expires_at, now()) + make_interval(hours => $2), updated_at = now() WHERE id = $1`,
        [id, hours],
      );
      await this.repo.audit(m, id, 'extended', client, null, { hours });
    });
    return this.get(actor, id);
  }

  /** The current recipient's notice again: a fresh access code, which also lifts a lock. */
  async resend(actor: Actor, id: string, client: ClientInfo): Promise<WorkflowView> {
    assertActor(actor);
    const { session, recipient } = await this.repo.ds.transaction(async (m) => {
      const s = await this.activeSession(m, actor, id);
      const r = (await this.repo.recipients(m, id)).find(
        (x) => x.order_index === s.current_recipient_order,
      )!;
      await this.repo.audit(m, id, 'resent', client, r.id, {
        unlocked: r.access_code_locked_at !== null,
      });
      return { session: s, recipient: r };
    });
    await this.turns.notifyTurn(session, recipient);
    return this.get(actor, id);
  }

  async auditLog(actor: Actor, id: string) {
    assertActor(actor);
    await this.sessionOr404(id, readScope(actor));
    const rows = await this.repo.ds.query<
      Array<{
        event_type: string;
        recipient_id: string | null;
        event_data: Record<string, unknown>;
        ip_address: string | null;
        user_agent: string | null;
        created_at: Date;
      }>
    >(
      `SELECT event_type, recipient_id, event_data, host(ip_address) AS ip_address, user_agent, created_at FROM workflow_audit_logs WHERE session_id = $1 ORDER BY id`,
      [id],
    );
    return rows.map((a) => ({
      eventType: a.event_type,
      recipientId: a.recipient_id,
      eventData: a.event_data,
      ipAddress: a.ip_address,
      userAgent: a.user_agent,
      at: a.created_at.toISOString(),
    }));
  }

  /** The tenant's workflows in figures (every tenant's, for an operator). */
  async stats(actor: Actor) {
    assertActor(actor);
    const tenant = readScope(actor);
    const [byStatus, completion, byType] = await Promise.all([
      this.repo.ds.query<Array<{ status: string; n: number }>>(
        `SELECT status, count(*)::int AS n FROM workflow_sessions
          WHERE ($1::text IS NULL OR tenant_id = $1) GROUP BY status`,
        [tenant],
      ),
      this.repo.ds.query<Array<{ p50: number | null; p90: number | null; avg: number | null }>>(
        `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s) AS p50, percentile_cont(0.9) WITHIN GROUP (ORDER BY s) AS p90, avg(s)::float8 AS avg
           FROM (SELECT extract(epoch FROM completed_at - created_at)::float8 AS s FROM workflow_sessions
                  WHERE status = 'COMPLETED' AND ($1::text IS NULL OR tenant_id = $1)) t`,
        [tenant],
      ),
      this.repo.ds.query<Array<{ t: string; status: string; n: number }>>(
        `SELECT r.recipient_type AS t, r.status, count(*)::int AS n
           FROM recipients r JOIN workflow_sessions s ON s.id = r.session_id
          WHERE ($1::text IS NULL OR s.tenant_id = $1) GROUP BY 1, 2`,
        [tenant],
      ),
    ]);
    const types: Record<string, Record<string, number>> = {};
    for (const r of byType) (types[r.t] ??= {})[r.status] = r.n;
    return {
      byStatus: Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
      completionSeconds: {
        p50: completion[0]?.p50 ?? null,
        p90: completion[0]?.p90 ?? null,
        average: completion[0]?.avg ?? null,
      },
      byRecipientType: types,
    };
  }

  async finalDocument(
    actor: Actor,
    id: string,
    client: ClientInfo,
  ): Promise<StoredFile & { sha256: string }> {
    assertActor(actor);
    const s = await this.sessionOr404(id, readScope(actor));
    if (s.status === 'FINALIZING')
      throw rpcError('conflict', 'the document is being finalized and sealed; try again shortly', {
        retryAfterSeconds: 2,
      });
    if (s.status !== 'COMPLETED' || !s.document_key || !s.document_sha256) {
      throw rpcError(
        s.status === 'COMPLETED' ? 'gone' : 'conflict',
        `the workflow is ${s.status.toLowerCase()}; its filled document is not available`,
      );
    }
    await this.repo.audit(this.repo.ds, id, 'downloaded', client, null, {
      documentSha256: s.document_sha256,
    });
    return {
      key: s.document_key,
      fileName: `workflow-${id}.pdf`,
      fileType: 'application/pdf',
      sha256: s.document_sha256,
    };
  }

  async attachmentDownload(
    actor: Actor,
    id: string,
    attachmentId: string,
    client: ClientInfo,
  ): Promise<StoredFile> {
    assertActor(actor);
    if (!isUuid(attachmentId)) throw rpcError('not_found', `no attachment ${attachmentId}`);
    await this.sessionOr404(id, readScope(actor));
    const [rows] = await this.repo.ds.query<
      [Array<{ storage_key: string | null; file_name: string; file_type: string }>, number]
    >(
      `UPDATE attachments SET download_count = download_count + 1, last_download = now()
        WHERE id = $1 AND session_id = $2 AND scan_status = 'clean' AND storage_key IS NOT NULL
        RETURNING storage_key, file_name, file_type`,
      [attachmentId, id],
    );
    const a = rows[0];
    if (!a?.storage_key) throw rpcError('not_found', `no downloadable attachment ${attachmentId}`);
    await this.repo.audit(this.repo.ds, id, 'attachment_downloaded', client, null, {
      attachmentId,
    });
    return { key: a.storage_key, fileName: a.file_name, fileType: a.file_type };
  }

  /** The tenant's workflow, locked for this transaction, if it is still active. */
  private async activeSession(m: EntityManager, actor: Actor, id: string): Promise<SessionRow> {
    const s = isUuid(id) ? await this.repo.session(m, id, actor.tenantId, true) : null;
    if (!s) throw rpcError('not_found', `no workflow ${id}`);
    if (s.status !== 'ACTIVE')
      throw rpcError('conflict', `the workflow is ${s.status.toLowerCase()}, not active`);
    return s;
  }

  private linkUrl(token: string): string {
    return linkUrlFor(this.config.PUBLIC_BASE_URL, token);
  }

  /** The workflow, if the tenant has it (null: any tenant, for an operator's read). */
  private async sessionOr404(id: string, tenant: string | null): Promise<SessionRow> {
    const s = isUuid(id) ? await this.repo.session(this.repo.ds, id, tenant) : null;
    if (!s) throw rpcError('not_found', `no workflow ${id}`);
    return s;
  }
}
