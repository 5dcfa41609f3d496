import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import { createHash } from 'node:crypto';
import { isEInvoiceXml } from '../extract/einvoice';
import type { DataSource, EntityManager } from 'typeorm';
import {
  DATA_TYPES,
  type FileInput,
  type JobFieldInput,
  type JobView,
  type RunView,
  type SourceFileView,
  type TemplateView,
} from '@app/contracts';
import { Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import { type BlobStorage, ObjectNotFoundError, streamToBuffer } from '@app/storage';
import { AccountsService, AccountUnusableError } from '../accounts/accounts.service';
import { assertId, ensureUser, notFound, type Owner } from '../common';
import type { ExtractionConfig } from '../config';
import { GoogleApiError, GoogleClient, type GmailPart } from '../google/google.client';
import {
  type FileRow,
  fileView,
  JOB_SELECT,
  type JobRow,
  jobView,
  RESULTS_SELECT,
  type ResultRow,
  resultView,
  RUN_SELECT,
  type RunRow,
  runView,
} from './views';

export const BLOB_STORAGE = Symbol('BLOB_STORAGE');
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_ .-]{0,99}$/;

/** A file's bytes as fetched from its source, before it is stored. */
export interface Fetched {
  fileName: string;
  contentType: string;
  data: Buffer;
  sourceType: SourceFileView['sourceType'];
  externalId: string | null;
}

@Injectable()
export class JobsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly accounts: AccountsService,
    private readonly google: GoogleClient,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  dataTypes() {
    return this.ds.query<
      Array<{ id: (typeof DATA_TYPES)[number]; displayName: string; description: string }>
    >(`SELECT id, display_name AS "displayName", description FROM data_types ORDER BY id`);
  }

  // --- jobs and fields ---

  async create(
    owner: Owner,
    name: string,
    fields: JobFieldInput[] | undefined,
    templateId?: string,
  ): Promise<JobView> {
    checkName(name);
    if (templateId !== undefined) assertId(templateId, 'template');
    else checkFields(fields);
    const id = await this.ds.transaction(async (m) => {
      await ensureUser(m, owner.userId);
      let own = fields;
      if (templateId) {
        const [t] = await m.query<Array<{ fields: JobFieldInput[] }>>(
          `SELECT fields FROM templates WHERE id = $1 AND tenant_id = $2`,
          [templateId, owner.tenantId],
        );
        if (!t) throw notFound('template');
        own = fields ?? t.fields;
        checkFields(own);
      }
      const [job] = await m.query<Array<{ id: string }>>(
        `INSERT INTO extraction_jobs (user_id, name, template_id, tenant_id) VALUES ($1, $2, $3, $4) RETURNING id`,
        [owner.userId, name.trim(), templateId ?? null, owner.tenantId],
      );
      await this.writeFields(m, job.id, own!);
      return job.id;
    });
    return this.get(owner, id);
  }

  // --- templates: named field sets a job can start from ---

  async createTemplate(owner: Owner, name: string, fields: JobFieldInput[]): Promise<TemplateView> {
    checkName(name);
    checkFields(fields);
    return this.ds.transaction(async (m) => {
      await ensureUser(m, owner.userId);
      const [t] = await m.query<TemplateRow[]>(
        `INSERT INTO templates (user_id, name, fields, tenant_id) VALUES ($1, $2, $3::jsonb, $4) RETURNING *`,
        [
          owner.userId,
          name.trim(),
          JSON.stringify(
            fields.map(({ name: n, dataType, description }) => ({
              name: n,
              dataType,
              description,
            })),
          ),
          owner.tenantId,
        ],
      );
      return templateView(t);
    });
  }

  async templates(owner: Owner): Promise<TemplateView[]> {
    const rows = await this.ds.query<TemplateRow[]>(
      `SELECT * FROM templates WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY created_at DESC, id DESC`,
      [owner.scope],
    );
    return rows.map(templateView);
  }

  async get(owner: Owner, id: unknown): Promise<JobView> {
    assertId(id, 'job');
    const [row] = await this.ds.query<JobRow[]>(
      `${JOB_SELECT} WHERE j.id = $1 AND ($2::text IS NULL OR j.tenant_id = $2)`,
      [id, owner.scope],
    );
    if (!row) throw notFound('job');
    return jobView(row);
  }

  async list(owner: Owner, limit = 50, cursor?: string) {
    const n = Math.min(Math.max(Number(limit) || 50, 1), 200);
    let after: [string, string] | null = null;
    if (cursor) {
      try {
        const c = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [string, string];
        assertId(c[1], 'cursor');
        after = [new Date(c[0]).toISOString(), c[1]];
      } catch {
        throw rpcError('validation_failed', 'cursor is not one this API gave', { field: 'cursor' });
      }
    }
    const rows = await this.ds.query<JobRow[]>(
      `${JOB_SELECT} WHERE ($1::text IS NULL OR j.tenant_id = $1) AND ($2::timestamptz IS NULL OR (j.created_at, j.id) < ($2, $3::uuid))
        ORDER BY j.created_at DESC, j.id DESC LIMIT $4`,
      [owner.scope, after?.[0] ?? null, after?.[1] ?? null, n + 1],
    );
    const items = rows.slice(0, n).map(jobView);
    const last = rows.length > n ? items[items.length - 1] : null;
    return {
      // The platform's list envelope is `data`; `items` stays for existing callers.
      data: items,
      items,
      nextCursor: last
        ? Buffer.from(JSON.stringify([last.createdAt, last.id])).toString('base64url')
        : null,
    };
  }

  /** Replaces the job's fields; runs already made keep the fields they ran with. */
  async replaceFields(owner: Owner, id: string, fields: JobFieldInput[]): Promise<JobView> {
    checkFields(fields);
    await this.ds.transaction(async (m) => {
      await this.lockJob(m, owner, id);
      await m.query(`DELETE FROM job_fields WHERE job_id = $1`, [id]);
      await this.writeFields(m, id, fields);
      await m.query(`UPDATE extraction_jobs SET updated_at = now() WHERE id = $1`, [id]);
    });
    return this.get(owner, id);
  }

  private async writeFields(m: EntityManager, jobId: string, fields: JobFieldInput[]) {
    const rows = fields.map((f, i) => ({
      name: f.name,
      dataType: f.dataType,
      description: f.description ?? null,
      ord: i,
    }));
    await m.query(
      `INSERT INTO job_fields (job_id, field_name, data_type_id, description, display_order)
       SELECT $1, f.name, f."dataType", f.description, f.ord
         FROM jsonb_to_recordset($2::jsonb) AS f(name text, "dataType" text, description text, ord int)`,
      [jobId, JSON.stringify(rows)],
    );
  }

  /** The caller's job exists (a key lookup, not the job's whole view); 404 otherwise. */
  private async assertOwned(owner: Owner, id: unknown): Promise<void> {
    assertId(id, 'job');
    const [j] = await this.ds.query<unknown[]>(
      `SELECT 1 FROM extraction_jobs WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      [id, owner.scope],
    );
    if (!j) throw notFound('job');
  }

  /** Locks the caller's job row (serialises run numbers and file adds); 404 otherwise. */
  async lockJob(m: EntityManager, owner: Owner, id: unknown): Promise<void> {
    assertId(id, 'job');
    const [j] = await m.query<unknown[]>(
      `SELECT id FROM extraction_jobs WHERE id = $1 AND tenant_id = $2 FOR UPDATE`,
      [id, owner.tenantId],
    );
    if (!j) throw notFound('job');
  }

  // --- files ---

  async addFile(
    owner: Owner,
    jobId: string,
    input: FileInput,
  ): Promise<{ file: SourceFileView; created: boolean }> {
    assertId(jobId, 'job');
    await this.assertOwned(owner, jobId);
    const fetched = await this.fetch(owner, input);
    return this.storeFile(owner, jobId, fetched);
  }

  /**
   * Stores a file's bytes once, under their SHA-256 (the same content is never stored twice),
   * and adds it to the job unless the job already holds that content.
   */
  async storeFile(owner: Owner, jobId: string, f: Fetched, m?: EntityManager) {
    if (f.data.length > this.config.MAX_FILE_BYTES)
      throw rpcError(
        'validation_failed',
        `file is larger than ${this.config.MAX_FILE_BYTES} bytes`,
        { field: 'file' },
      );
    // A PDF, or an e-invoice's bare XML (CII or UBL: read exactly, no text engine needed).
    const xml = isEInvoiceXml(f.data);
    if (!xml && f.data.subarray(0, 1024).indexOf('%PDF-') < 0)
      throw rpcError(
        'unprocessable',
        `${f.fileName} is not a PDF (nor a CII or UBL e-invoice); only those can be extracted`,
        {
          field: 'file',
        },
      );
    const fileType = xml ? 'application/xml' : 'application/pdf';
    const hash = createHash('sha256').update(f.data).digest('hex');
    const key = `files/sha256/${hash.slice(0, 2)}/${hash}.${xml ? 'xml' : 'pdf'}`;
    if (!(await this.storage.head(key))) await this.storage.put(key, f.data, fileType);
    const write = async (tx: EntityManager) => {
      await this.lockJob(tx, owner, jobId);
      const [same] = await tx.query<FileRow[]>(
        `SELECT * FROM source_files WHERE job_id = $1 AND content_hash = $2 AND removed_at IS NULL LIMIT 1`,
        [jobId, hash],
      );
      if (same) return { file: fileView(same), created: false };
      const [row] = await tx.query<FileRow[]>(
        `INSERT INTO source_files (job_id, original_filename, storage_key, file_type, file_size, content_hash, source_type, external_id)
         VALUES ($1, $2, $3, $8, $4, $5, $6, $7) RETURNING *`,
        [
          jobId,
          f.fileName.slice(0, 500),
          key,
          f.data.length,
          hash,
          f.sourceType,
          f.externalId,
          fileType,
        ],
      );
      await tx.query(`UPDATE extraction_jobs SET updated_at = now() WHERE id = $1`, [jobId]);
      return { file: fileView(row), created: true };
    };
    return m ? write(m) : this.ds.transaction(write);
  }

  private async fetch(owner: Owner, input: FileInput): Promise<Fetched> {
    switch (input?.source) {
      case 'upload': {
        let data: Buffer;
        try {
          data = await streamToBuffer(await this.storage.get(input.storageKey));
        } catch (err) {
          if (err instanceof ObjectNotFoundError)
            throw rpcError('validation_failed', 'the upload was not found in storage', {
              field: 'storageKey',
            });
          throw err;
        }
        // The gateway's upload was a staging copy; the content-addressed copy replaces it.
        await this.storage.delete(input.storageKey).catch(() => undefined);
        return {
          fileName: input.fileName,
          contentType: input.contentType,
          data,
          sourceType: 'upload',
          externalId: null,
        };
      }
      case 'gdrive': {
        await this.accounts.owned(owner, input.accountId);
        return this.fromGoogle('Drive file', async () =>
          this.accounts.withToken(input.accountId, async (token) => {
            const meta = await this.google.driveFile(token, input.fileId);
            const data = await this.google.driveMedia(token, input.fileId);
            return {
              fileName: meta.name,
              contentType: meta.mimeType,
              data,
              sourceType: 'gdrive' as const,
              externalId: input.fileId,
            };
          }),
        );
      }
      case 'gmail': {
        await this.accounts.owned(owner, input.accountId);
        return this.fromGoogle('Gmail attachment', () =>
          this.gmailAttachment(input.accountId, input.messageId, input.attachmentId),
        );
      }
      default:
        throw rpcError('validation_failed', 'file.source must be upload, gdrive or gmail', {
          field: 'source',
        });
    }
  }

  async gmailAttachment(
    accountId: string,
    messageId: string,
    attachmentId: string,
  ): Promise<Fetched> {
    return this.accounts.withToken(accountId, async (token) => {
      const msg = await this.google.gmailMessage(token, messageId);
      const part = flattenParts(msg.payload).find((p) => p.body.attachmentId === attachmentId);
      return this.gmailFile(token, messageId, attachmentId, part);
    });
  }

  /** An attachment's bytes as a file to store, named as its message part names it. */
  async gmailFile(
    token: string,
    messageId: string,
    attachmentId: string,
    part?: Pick<GmailPart, 'filename' | 'mimeType'>,
  ): Promise<Fetched> {
    return {
      fileName: part?.filename || `attachment-${messageId}.pdf`,
      contentType: part?.mimeType ?? 'application/octet-stream',
      data: await this.google.gmailAttachment(token, messageId, attachmentId),
      sourceType: 'gmail',
      externalId: `${messageId}:${attachmentId}`,
    };
  }

  private async fromGoogle<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AccountUnusableError) throw rpcError('conflict', err.message);
      if (err instanceof GoogleApiError) {
        if (err.status === 404) throw rpcError('not_found', `${what} not found`);
        if (err.status === 413) throw rpcError('validation_failed', err.message, { field: 'file' });
        if (err.status === 403) throw rpcError('forbidden', `${what}: the account may not read it`);
        throw rpcError('bad_gateway', `${what} could not be fetched: ${err.reason}`);
      }
      throw err;
    }
  }

  async files(owner: Owner, jobId: string): Promise<SourceFileView[]> {
    await this.assertOwned(owner, jobId);
    const rows = await this.ds.query<FileRow[]>(
      `SELECT * FROM source_files WHERE job_id = $1 AND removed_at IS NULL ORDER BY uploaded_at, id`,
      [jobId],
    );
    return rows.map(fileView);
  }

  /** Takes a file out of future runs; earlier runs keep reading it. */
  async removeFile(owner: Owner, jobId: string, fileId: string) {
    assertId(fileId, 'file');
    await this.ds.transaction(async (m) => {
      await this.lockJob(m, owner, jobId);
      const r = await m.query<unknown[][]>(
        `UPDATE source_files SET removed_at = now() WHERE id = $1 AND job_id = $2 AND removed_at IS NULL RETURNING id`,
        [fileId, jobId],
      );
      if (r[0].length === 0) throw notFound('file');
    });
    return { removed: true as const };
  }

  // --- runs ---

  async startRun(owner: Owner, jobId: string): Promise<RunView> {
    const run = await this.ds.transaction((m) => this.startRunIn(m, owner, jobId));
    this.relay.kick();
    return run;
  }

  /**
   * Run n+1 of a job, in the caller's transaction: the fields as they are now (snapshot) and
   * one task per live file (or per listed file), each queued as a message for the workers.
   */
  async startRunIn(
    m: EntityManager,
    owner: Owner,
    jobId: string,
    fileIds?: string[],
  ): Promise<RunView> {
    await this.lockJob(m, owner, jobId);
    const [run] = await m.query<RunRow[]>(
      `INSERT INTO job_runs (job_id, run_number, fields_snapshot)
       SELECT $1, coalesce((SELECT max(run_number) FROM job_runs WHERE job_id = $1), 0) + 1,
              (SELECT coalesce(jsonb_agg(jsonb_build_object('name', field_name, 'dataType', data_type_id,
                        'description', description, 'displayOrder', display_order) ORDER BY display_order), '[]'::jsonb)
                 FROM job_fields WHERE job_id = $1)
       RETURNING *`,
      [jobId],
    );
    if (run.fields_snapshot.length === 0)
      throw rpcError('validation_failed', 'the job has no fields to extract', { field: 'fields' });
    const tasks = await m.query<Array<{ id: string }>>(
      `INSERT INTO extraction_tasks (job_id, run_id, source_file_id, status)
       SELECT $1, $2, s.id, 'pending' FROM source_files s
        WHERE s.job_id = $1 AND s.removed_at IS NULL AND ($3::uuid[] IS NULL OR s.id = ANY($3))
        ORDER BY s.uploaded_at, s.id
       RETURNING id`,
      [jobId, run.id, fileIds ?? null],
    );
    if (tasks.length === 0)
      throw rpcError('validation_failed', 'the job has no files to extract', { field: 'files' });
    const [[counted]] = await m.query<[RunRow[], number]>(
      `UPDATE job_runs SET tasks_total = $2 WHERE id = $1 RETURNING *`,
      [run.id, tasks.length],
    );
    await this.outbox.addMany(
      m,
      tasks.map((t) => ({
        name: 'extraction.task.requested.v1' as const,
        payload: { taskId: t.id, runId: run.id },
      })),
    );
    this.logger.info(
      { jobId, runId: run.id, runNumber: run.run_number, tasks: tasks.length },
      'run started',
    );
    return runView(counted);
  }

  async runs(owner: Owner, jobId: string): Promise<RunView[]> {
    await this.assertOwned(owner, jobId);
    const rows = await this.ds.query<RunRow[]>(
      `${RUN_SELECT} WHERE r.job_id = $1 ORDER BY r.run_number DESC`,
      [jobId],
    );
    return rows.map(runView);
  }

  async run(owner: Owner, id: unknown): Promise<RunView> {
    assertId(id, 'run');
    const [row] = await this.ds.query<RunRow[]>(
      `${RUN_SELECT} JOIN extraction_jobs j ON j.id = r.job_id WHERE r.id = $1 AND ($2::text IS NULL OR j.tenant_id = $2)`,
      [id, owner.scope],
    );
    if (!row) throw notFound('run');
    return runView(row);
  }

  async results(owner: Owner, id: string) {
    const run = await this.run(owner, id);
    const rows = await this.ds.query<ResultRow[]>(RESULTS_SELECT, [id]);
    return { run, results: rows.map((r) => resultView(r, run.fields)) };
  }
}

export function flattenParts(p?: GmailPart): GmailPart[] {
  if (!p) return [];
  return [p, ...(p.parts ?? []).flatMap(flattenParts)];
}

interface TemplateRow {
  id: string;
  name: string;
  fields: JobFieldInput[];
  created_at: Date;
  updated_at: Date;
}

const templateView = (t: TemplateRow): TemplateView => ({
  id: t.id,
  name: t.name,
  fields: t.fields,
  createdAt: t.created_at.toISOString(),
  updatedAt: t.updated_at.toISOString(),
});

function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !name.trim() || name.length > 255)
    throw rpcError('validation_failed', 'name must be 1 to 255 characters', { field: 'name' });
}

function checkFields(fields: JobFieldInput[] | undefined): asserts fields is JobFieldInput[] {
  if (!Array.isArray(fields) || fields.length < 1 || fields.length > 100)
    throw rpcError('validation_failed', 'fields must list 1 to 100 fields', { field: 'fields' });
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    if (typeof f?.name !== 'string' || !FIELD_NAME.test(f.name))
      throw rpcError(
        'validation_failed',
        `fields[${i}].name must start with a letter and be at most 100 characters`,
        {
          field: `fields[${i}].name`,
        },
      );
    if (seen.has(f.name.toLowerCase()))
      throw rpcError('validation_failed', `field "${f.name}" is listed twice`, {
        field: `fields[${i}].name`,
      });
    seen.add(f.name.toLowerCase());
    if (!(DATA_TYPES as readonly string[]).includes(f.dataType))
      throw rpcError(
        'validation_failed',
        `fields[${i}].dataType must be one of ${DATA_TYPES.join(', ')}`,
        {
          field: `fields[${i}].dataType`,
        },
      );
    if (
      f.description !== undefined &&
      (typeof f.description !== 'string' || f.description.length > 2000)
    )
      throw rpcError(
        'validation_failed',
        `fields[${i}].description must be text of at most 2000 characters`,
        {
          field: `fields[${i}].description`,
        },
      );
  });
}
