import { Injectable, type OnModuleInit } from '@nestjs/common';
import {
  type Actor,
  DEFAULT_TENANT,
  DOCUMENT_TYPES,
  readScope,
  TENANT_ID_PATTERN,
  type SubmissionDocumentStatus,
  type UploadIntake,
  type UploadListQuery,
  type UploadView,
  isUuid,
} from '@app/contracts';
import { assertActor, EventBus, PermanentEventError, rpcError } from '@app/messaging';
import { toView, UploadsRepository } from './uploads.repository';

const INT64 = /^[1-9]\d{0,18}$/;

/** Intake (over RPC and from the broker), reads and the per-submission summary. */
@Injectable()
export class UploadsService implements OnModuleInit {
  constructor(
    private readonly repo: UploadsRepository,
    private readonly bus: EventBus,
  ) {}

  onModuleInit(): void {
    // Systems that publish instead of call; the unique request id makes a redelivery harmless.
    this.bus.on('claims.document.uploaded.v1', async (p) => {
      const tenantId = p.tenantId ?? DEFAULT_TENANT;
      if (!TENANT_ID_PATTERN.test(tenantId))
        throw new PermanentEventError(`tenantId ${JSON.stringify(tenantId)} is not a tenant id`);
      await this.record(tenantId, p);
    });
  }

  async record(
    tenantId: string,
    i: UploadIntake,
  ): Promise<{ created: boolean; upload: UploadView }> {
    const intake = validateIntake(i);
    const { created, row } = await this.repo.record(tenantId, intake);
    // Another tenant's upload is never named or shown: only that the id is taken.
    if (row.tenant_id !== tenantId)
      throw rpcError(
        'conflict',
        `request id ${intake.lighthouseRequestId} is already recorded for another upload`,
      );
    if (
      row.form526_submission_id !== intake.form526SubmissionId ||
      row.document_type !== intake.documentType
    ) {
      throw rpcError(
        'conflict',
        `request id ${intake.lighthouseRequestId} is already recorded for another upload`,
        {
          existing: row.id,
        },
      );
    }
    return { created, upload: toView(row) };
  }

  async get(actor: Actor, id: string): Promise<UploadView> {
    assertActor(actor);
    if (!isUuid(id)) throw rpcError('not_found', `no upload ${id}`);
    const row = await this.repo.get(id, readScope(actor));
    if (!row) throw rpcError('not_found', `no upload ${id}`);
    return toView(row, await this.repo.history(id));
  }

  async list(
    actor: Actor,
    q: UploadListQuery,
  ): Promise<{ data: UploadView[]; nextCursor: string | null }> {
    assertActor(actor);
    const limit = Math.min(Math.max(q.limit ?? 50, 1), 200);
    let after: { createdAt: string; id: string } | undefined;
    if (q.cursor) {
      try {
        const c = JSON.parse(Buffer.from(q.cursor, 'base64url').toString('utf8')) as {
          c: string;
          i: string;
        };
        if (typeof c.c !== 'string' || !isUuid(c.i) || Number.isNaN(Date.parse(c.c)))
          throw new Error('bad');
        after = { createdAt: c.c, id: c.i };
      } catch {
        throw rpcError('validation_failed', 'cursor is not one this service issued', {
          field: 'cursor',
        });
      }
    }
    const rows = await this.repo.list(readScope(actor), { ...q, limit: limit + 1 }, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor =
      rows.length > limit && last
        ? Buffer.from(JSON.stringify({ c: last.created_at.toISOString(), i: last.id })).toString(
            'base64url',
          )
        : null;
    return { data: page.map((r) => toView(r)), nextCursor };
  }

  /** The submission as a whole: per document type, overall state, and whether the claim can proceed. */
  async submissionStatus(
    actor: Actor,
    form526SubmissionId: string,
    formAttachmentIds: string[] = [],
  ): Promise<SubmissionDocumentStatus> {
    assertActor(actor);
    const rows = await this.repo.submissionCounts(readScope(actor), form526SubmissionId);
    const byDocumentType: SubmissionDocumentStatus['byDocumentType'] = {};
    const totals = { pending: 0, in_progress: 0, completed: 0, failed: 0 };
    const attachments = new Set<string>();
    for (const r of rows) {
      const t = (byDocumentType[r.document_type] ??= { total: 0 });
      t.total += r.n;
      t[r.status] = (t[r.status] ?? 0) + r.n;
      totals[r.status] += r.n;
      r.attachment_ids.forEach((a) => attachments.add(a));
    }
    const all = totals.pending + totals.in_progress + totals.completed + totals.failed;
    const overall =
      all === 0
        ? 'no_uploads'
        : totals.failed > 0
          ? 'failed'
          : totals.completed === all
            ? 'completed'
            : 'in_progress';
    const reasons: string[] = [];
    if (!byDocumentType.bdd_instructions?.completed)
      reasons.push('the BDD instructions upload has not completed');
    const missing = formAttachmentIds.filter((a) => !attachments.has(a));
    if (missing.length) reasons.push(`form attachments without an upload: ${missing.join(', ')}`);
    return {
      form526SubmissionId,
      overall,
      canProceed: reasons.length === 0,
      reasons,
      byDocumentType,
    };
  }
}

function validateIntake(i: UploadIntake): UploadIntake {
  const problems: Record<string, string> = {};
  const requestId = String(i?.lighthouseRequestId ?? '');
  if (!INT64.test(requestId) || BigInt(requestId) > 9223372036854775807n)
    problems.lighthouseRequestId = 'must be a positive 64-bit integer';
  if (typeof i?.form526SubmissionId !== 'string' || !i.form526SubmissionId.trim())
    problems.form526SubmissionId = 'is required';
  if (!(DOCUMENT_TYPES as readonly string[]).includes(i?.documentType))
    problems.documentType = `must be one of ${DOCUMENT_TYPES.join(', ')}`;
  if (i?.uploadedAt != null && Number.isNaN(Date.parse(i.uploadedAt)))
    problems.uploadedAt = 'must be a date-time';
  if (Object.keys(problems).length) {
    throw rpcError('validation_failed', `invalid upload: ${Object.keys(problems).join(', ')}`, {
      fields: problems,
    });
  }
  return { ...i, lighthouseRequestId: requestId, documentType: i.documentType };
}
