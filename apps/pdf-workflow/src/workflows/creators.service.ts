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
  recipientView,
  type SessionRow,
  workflowView,
  WorkflowsRepository,
} from './workflows.repository';
import { BLOB_STORAGE } from './tokens';
import { CreatorsRepository } from './creators.repository';
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
    private readonly creators: CreatorsRepository,
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
      const s = await this.creators.insertWorkflow(m, {
        documentKey: r.documentKey,
        sha256: head.sha256,
        creatorId,
        tenantId,
        metadata: r.metadata ?? {},
        fields,
        hours,
        recipients: r.recipients.length,
      });
      const rows = await this.creators.insertRecipients(
        m,
        s.id,
        r.recipients.map((p, i) => ({
          id: ids[i],
          linkHash: hashToken(tokens[i]),
          type: p.type,
          name: p.name,
          email: p.email ?? null,
          phone: p.phone ?? null,
          fields: p.fields ?? [],
          accessCode: !!p.accessCode,
        })),
      );
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
      this.creators.attachments(id),
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
    const rows = await this.creators.list({
      tenant: readScope(actor),
      status: q.status ?? null,
      creatorId: q.creatorId ?? null,
      after,
      limit: limit + 1,
    });
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
      await this.creators.cancel(m, id);
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
      await this.creators.extend(m, id, hours);
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
    const rows = await this.creators.auditLog(id);
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
    const { byStatus, completion, byType } = await this.creators.stats(tenant);
    const types: Record<string, Record<string, number>> = {};
    for (const r of byType) (types[r.t] ??= {})[r.status] = r.n;
    return {
      byStatus: Object.fromEntries(byStatus.map((r) => [r.status, r.n])),
      completionSeconds: {
        p50: completion?.p50 ?? null,
        p90: completion?.p90 ?? null,
        average: completion?.avg ?? null,
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
    const a = await this.creators.downloadAttachment(id, attachmentId);
    if (!a) throw rpcError('not_found', `no downloadable attachment ${attachmentId}`);
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
