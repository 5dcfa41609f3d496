import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type {
  DocumentType,
  UploadIntake,
  UploadListQuery,
  UploadStatus,
  UploadTransitionView,
  UploadView,
} from '@app/contracts';

export interface UploadRow {
  id: string;
  form526_submission_id: string;
  lighthouse_request_id: string;
  document_type: DocumentType;
  form_attachment_id: string | null;
  uploaded_at: Date | null;
  status: UploadStatus;
  current_step: string | null;
  error_step: string | null;
  error_detail: string | null;
  last_polled_at: Date | null;
  not_found_since: Date | null;
  lighthouse_started_at: Date | null;
  lighthouse_ended_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** The outcome of one poll for one upload, as the batch writer stores it. */
export interface PollOutcome {
  id: string;
  status: UploadStatus;
  current_step: string | null;
  error_step: string | null;
  error_detail: string | null;
  not_found_since: string | null;
  /** Lighthouse's times (epoch ms), when its answer had them; null keeps what was stored. */
  lighthouse_started_at: number | null;
  lighthouse_ended_at: number | null;
}

export interface TransitionRow {
  document_upload_id: string;
  from_status: UploadStatus;
  to_status: UploadStatus;
  step: string | null;
  detail: string | null;
}

const COLUMNS = `id, form526_submission_id, lighthouse_request_id::text AS lighthouse_request_id, document_type,
  form_attachment_id, uploaded_at, status, current_step, error_step, error_detail, last_polled_at, not_found_since,
  lighthouse_started_at, lighthouse_ended_at, created_at, updated_at`;

export function toView(r: UploadRow, history?: UploadTransitionView[]): UploadView {
  return {
    id: r.id,
    form526SubmissionId: r.form526_submission_id,
    lighthouseRequestId: r.lighthouse_request_id,
    documentType: r.document_type,
    formAttachmentId: r.form_attachment_id,
    uploadedAt: r.uploaded_at?.toISOString() ?? null,
    status: r.status,
    currentStep: r.current_step,
    error: r.status === 'failed' ? { step: r.error_step, detail: r.error_detail } : null,
    lastPolledAt: r.last_polled_at?.toISOString() ?? null,
    lighthouseStartedAt: r.lighthouse_started_at?.toISOString() ?? null,
    lighthouseEndedAt: r.lighthouse_ended_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    ...(history ? { history } : {}),
  };
}

@Injectable()
export class UploadsRepository {
  constructor(@InjectDataSource() readonly ds: DataSource) {}

  /** Inserts once per request id (the constraint decides); returns the row either way. */
  async record(
    tenantId: string,
    i: UploadIntake,
  ): Promise<{ created: boolean; row: UploadRow & { tenant_id: string } }> {
    const inserted = await this.ds.query<Array<UploadRow & { tenant_id: string }>>(
      `INSERT INTO document_uploads (tenant_id, form526_submission_id, lighthouse_request_id, document_type, form_attachment_id, uploaded_at)
       VALUES ($6, $1, $2, $3, $4, $5)
       ON CONFLICT (lighthouse_request_id) DO NOTHING
       RETURNING ${COLUMNS}, tenant_id`,
      [
        i.form526SubmissionId,
        i.lighthouseRequestId,
        i.documentType,
        i.formAttachmentId ?? null,
        i.uploadedAt ?? null,
        tenantId,
      ],
    );
    if (inserted[0]) return { created: true, row: inserted[0] };
    const existing = await this.ds.query<Array<UploadRow & { tenant_id: string }>>(
      `SELECT ${COLUMNS}, tenant_id FROM document_uploads WHERE lighthouse_request_id = $1`,
      [i.lighthouseRequestId],
    );
    return { created: false, row: existing[0] };
  }

  /** The upload, if the tenant has it (null: any tenant, for an operator's read). */
  async get(id: string, tenant: string | null): Promise<UploadRow | null> {
    const rows = await this.ds.query<UploadRow[]>(
      `SELECT ${COLUMNS} FROM document_uploads WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      [id, tenant],
    );
    return rows[0] ?? null;
  }

  history(id: string): Promise<UploadTransitionView[]> {
    return this.ds.query<UploadTransitionView[]>(
      `SELECT from_status AS "from", to_status AS "to", step, detail, occurred_at AS "at"
         FROM document_upload_transitions WHERE document_upload_id = $1 ORDER BY id`,
      [id],
    );
  }

  /** Newest first, by keyset on (created_at, id), so pages are stable while rows arrive. */
  list(
    tenant: string | null,
    q: UploadListQuery & { limit: number },
    after?: { createdAt: string; id: string },
  ): Promise<UploadRow[]> {
    return this.ds.query<UploadRow[]>(
      `SELECT ${COLUMNS} FROM document_uploads
        WHERE ($7::text IS NULL OR tenant_id = $7)
          AND ($1::text IS NULL OR form526_submission_id = $1)
          AND ($2::text IS NULL OR status = $2)
          AND ($3::text IS NULL OR document_type = $3)
          AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
        ORDER BY created_at DESC, id DESC
        LIMIT $6`,
      [
        q.form526SubmissionId ?? null,
        q.status ?? null,
        q.documentType ?? null,
        after?.createdAt ?? null,
        after?.id ?? null,
        q.limit,
        tenant,
      ],
    );
  }

  submissionCounts(
    tenant: string | null,
    submissionId: string,
  ): Promise<
    Array<{
      document_type: DocumentType;
      status: UploadStatus;
      n: number;
      attachment_ids: string[];
    }>
  > {
    return this.ds.query(
      `SELECT document_type, status, count(*)::int AS n,
              coalesce(array_agg(form_attachment_id) FILTER (WHERE form_attachment_id IS NOT NULL), '{}') AS attachment_ids
         FROM document_uploads WHERE form526_submission_id = $1 AND ($2::text IS NULL OR tenant_id = $2)
        GROUP BY document_type, status`,
      [submissionId, tenant],
    );
  }

  /**
   * Claims up to `size` open uploads due for a poll with one token: SKIP LOCKED lets replicas
   * claim side by side, the claim keeps them out of every other batch until it is released or
   * expires, and nothing polled since the cycle started is claimed again in that cycle.
   */
  async claimBatch(
    m: EntityManager,
    token: string,
    o: { size: number; intervalSeconds: number; claimSeconds: number; cycleStartedAt: Date },
  ): Promise<number> {
    const [, n] = await m.query<[unknown[], number]>(
      // Claiming stamps last_polled_at too: claimed rows sort to the end of the due index, so
      // each claim reads only the rows it takes instead of skipping every earlier claim.
      `UPDATE document_uploads u SET poll_claim_token = $1, poll_claimed_until = now() + make_interval(secs => $4),
              last_polled_at = now()
         FROM (SELECT id FROM document_uploads
                WHERE status IN ('pending', 'in_progress')
                  AND (last_polled_at IS NULL
                       OR last_polled_at < least(now() - make_interval(secs => $3), $5::timestamptz))
                  AND (poll_claimed_until IS NULL OR poll_claimed_until < now())
                ORDER BY last_polled_at NULLS FIRST
                LIMIT $2
                FOR UPDATE SKIP LOCKED) due
        WHERE u.id = due.id`,
      [token, o.size, o.intervalSeconds, o.claimSeconds, o.cycleStartedAt.toISOString()],
    );
    return n;
  }

  claimed(token: string): Promise<UploadRow[]> {
    return this.ds.query<UploadRow[]>(
      `SELECT ${COLUMNS} FROM document_uploads WHERE poll_claim_token = $1 AND poll_claimed_until > now()`,
      [token],
    );
  }

  /** Gives a batch back without a result (after a malformed answer), so it waits a full interval. */
  async release(token: string): Promise<void> {
    await this.ds.query(
      `UPDATE document_uploads SET poll_claim_token = NULL, poll_claimed_until = NULL, last_polled_at = now() WHERE poll_claim_token = $1`,
      [token],
    );
  }

  /** Writes a whole batch's outcomes: one statement for the uploads, one for the history. */
  async storeOutcomes(
    m: EntityManager,
    token: string,
    outcomes: PollOutcome[],
    transitions: TransitionRow[],
  ): Promise<number> {
    const [, n] = await m.query<[unknown[], number]>(
      `UPDATE document_uploads u SET
              status = o.status, current_step = o.current_step, error_step = o.error_step, error_detail = o.error_detail,
              not_found_since = o.not_found_since,
              lighthouse_started_at = coalesce(to_timestamp(o.lighthouse_started_at / 1000.0), u.lighthouse_started_at),
              lighthouse_ended_at = coalesce(to_timestamp(o.lighthouse_ended_at / 1000.0), u.lighthouse_ended_at),
              completed_at = CASE WHEN o.status = 'completed' AND u.status <> 'completed' THEN now() ELSE u.completed_at END,
              failed_at = CASE WHEN o.status = 'failed' AND u.status <> 'failed' THEN now() ELSE u.failed_at END,
              last_polled_at = now(), poll_claim_token = NULL, poll_claimed_until = NULL,
              updated_at = CASE WHEN (u.status, u.current_step) IS DISTINCT FROM (o.status, o.current_step) THEN now() ELSE u.updated_at END
         FROM jsonb_to_recordset($2::jsonb) AS o(id uuid, status text, current_step text, error_step text, error_detail text,
                                               not_found_since timestamptz, lighthouse_started_at float8,
                                               lighthouse_ended_at float8)
        WHERE u.id = o.id AND u.poll_claim_token = $1`,
      [token, JSON.stringify(outcomes)],
    );
    if (transitions.length > 0) {
      await m.query(
        `INSERT INTO document_upload_transitions (document_upload_id, from_status, to_status, step, detail)
         SELECT t.document_upload_id, t.from_status, t.to_status, t.step, t.detail
           FROM jsonb_to_recordset($1::jsonb) AS t(document_upload_id uuid, from_status text, to_status text, step text, detail text)`,
        [JSON.stringify(transitions)],
      );
    }
    return n;
  }

  /**
   * Counts by type and status, the age of the oldest open upload, and how many have been in
   * progress at Lighthouse (since its own start time) longer than `stuckSeconds`, for the gauges.
   */
  gaugeSnapshot(stuckSeconds: number): Promise<
    Array<{
      document_type: DocumentType;
      status: UploadStatus;
      n: number;
      oldest_open_seconds: number | null;
      stuck: number;
    }>
  > {
    return this.ds.query(
      `SELECT document_type, status, count(*)::int AS n,
              extract(epoch FROM now() - min(created_at) FILTER (WHERE status IN ('pending', 'in_progress')))::float8 AS oldest_open_seconds,
              (count(*) FILTER (WHERE status = 'in_progress'
                 AND coalesce(lighthouse_started_at, created_at) < now() - make_interval(secs => $1)))::int AS stuck
         FROM document_uploads GROUP BY document_type, status`,
      [stuckSeconds],
    );
  }
}
