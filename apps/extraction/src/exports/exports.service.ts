import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Logger } from 'pino';
import type { DataSource, EntityManager } from 'typeorm';
import {
  EXPORT_DESTS,
  EXPORT_FILE_TYPES,
  type ExportDest,
  type ExportFileType,
  type ExportView,
  type JobFieldView,
  type RpcRequest,
} from '@app/contracts';
import { EventBus, Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { BlobStorage } from '@app/storage';
import { AccountsService, AccountUnusableError } from '../accounts/accounts.service';
import { assertId, notFound, type Owner, ownerOf } from '../common';
import type { ExtractionConfig } from '../config';
import { GoogleApiError, GoogleClient } from '../google/google.client';
import { ExtractionMetrics } from '../jobs/extraction-metrics';
import { RunsService } from '../jobs/runs.service';
import { BLOB_STORAGE } from '../jobs/storage-token';
import { RESULTS_SELECT, type ResultRow, resultView } from '../jobs/views';
import { resultTable, toCsv, toXlsx } from './export-files';

interface ExportRow {
  id: string;
  run_id: string;
  integration_account_id: string | null;
  dest_type: ExportDest;
  file_type: ExportFileType;
  status: ExportView['status'];
  options: { folderId?: string; to?: string };
  storage_key: string | null;
  file_name: string | null;
  external_id: string | null;
  error_message: string | null;
  created_at: Date;
  updated_at: Date;
}

export const CONTENT_TYPES: Record<ExportFileType, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
};
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function view(r: ExportRow): ExportView {
  return {
    id: r.id,
    runId: r.run_id,
    destType: r.dest_type,
    fileType: r.file_type,
    status: r.status,
    externalId: r.external_id,
    errorMessage: r.error_message,
    fileName: r.file_name,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

/**
 * Exports of a run's results as CSV or XLSX, delivered as a download (kept in storage for
 * the gateway to stream), to Drive, or by Gmail. pending → in_progress → completed | failed,
 * worked off a queue with retries like the tasks.
 */
@Injectable()
export class ExportsService implements OnModuleInit {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly bus: EventBus,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly runs: RunsService,
    private readonly accounts: AccountsService,
    private readonly google: GoogleClient,
    private readonly metrics: ExtractionMetrics,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.bus.on('extraction.export.requested.v1', async (p, ctx) => {
      await this.process(p.exportId, ctx.attempt);
    });
  }

  async create(r: RpcRequest<'extraction.export.create.v1'>): Promise<ExportView> {
    const owner = ownerOf(r?.actor);
    if (!EXPORT_DESTS.includes(r.destType))
      throw rpcError('validation_failed', `destType must be one of ${EXPORT_DESTS.join(', ')}`, {
        field: 'destType',
      });
    if (!EXPORT_FILE_TYPES.includes(r.fileType))
      throw rpcError(
        'validation_failed',
        `fileType must be one of ${EXPORT_FILE_TYPES.join(', ')}`,
        {
          field: 'fileType',
        },
      );
    const run = await this.runs.get(owner, r.runId);
    if (run.status === 'pending' || run.status === 'in_progress')
      throw rpcError(
        'conflict',
        `run ${run.runNumber} is still ${run.status}; export it when it has finished`,
      );
    if (r.destType !== 'download') {
      if (!r.accountId)
        throw rpcError('validation_failed', `accountId is required for ${r.destType}`, {
          field: 'accountId',
        });
      await this.accounts.owned(owner, r.accountId);
    }
    if (r.destType === 'gmail' && !(typeof r.to === 'string' && EMAIL.test(r.to)))
      throw rpcError('validation_failed', 'to must be an email address for gmail', { field: 'to' });
    const row = await this.ds.transaction((m) =>
      this.createIn(m, {
        runId: run.id,
        destType: r.destType,
        fileType: r.fileType,
        accountId: r.destType === 'download' ? null : r.accountId!,
        options: { folderId: r.folderId, to: r.to },
      }),
    );
    this.relay.kick();
    return view(row);
  }

  /** Adds an export in the caller's transaction and queues it. */
  async createIn(
    m: EntityManager,
    e: {
      runId: string;
      destType: ExportDest;
      fileType: ExportFileType;
      accountId: string | null;
      options: object;
    },
  ): Promise<ExportRow> {
    const [row] = await m.query<ExportRow[]>(
      `INSERT INTO job_exports (run_id, dest_type, file_type, integration_account_id, options)
       VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING *`,
      [e.runId, e.destType, e.fileType, e.accountId, JSON.stringify(e.options)],
    );
    await this.outbox.add(m, 'extraction.export.requested.v1', { exportId: row.id });
    return row;
  }

  async get(owner: Owner, id: unknown) {
    assertId(id, 'export');
    const [row] = await this.ds.query<ExportRow[]>(
      `SELECT e.* FROM job_exports e JOIN job_runs r ON r.id = e.run_id JOIN extraction_jobs j ON j.id = r.job_id
        WHERE e.id = $1 AND ($2::text IS NULL OR j.tenant_id = $2)`,
      [id, owner.scope],
    );
    if (!row) throw notFound('export');
    return { ...view(row), storageKey: row.storage_key, contentType: CONTENT_TYPES[row.file_type] };
  }

  /** Builds and delivers one export; `attempt` is the bus's count for this message. */
  async process(exportId: string, attempt = 1): Promise<void> {
    const [row] = await this.ds.query<
      Array<ExportRow & { job_name: string; run_number: number; fields_snapshot: JobFieldView[] }>
    >(
      `WITH claimed AS (
         UPDATE job_exports SET status = 'in_progress', updated_at = now()
          WHERE id = $1 AND status IN ('pending', 'in_progress') RETURNING *)
       SELECT c.*, j.name AS job_name, r.run_number, r.fields_snapshot
         FROM claimed c JOIN job_runs r ON r.id = c.run_id JOIN extraction_jobs j ON j.id = r.job_id`,
      [exportId],
    );
    if (!row) return; // finished already
    try {
      const results = (await this.ds.query<ResultRow[]>(RESULTS_SELECT, [row.run_id])).map((r) =>
        resultView(r, row.fields_snapshot),
      );
      const table = resultTable(row.fields_snapshot, results);
      const data = row.file_type === 'csv' ? toCsv(table) : await toXlsx(table);
      const slug =
        row.job_name
          .toLowerCase()
          .replace(/[^a-z0-9]+/g, '-')
          .replace(/^-|-$/g, '')
          .slice(0, 80) || 'job';
      const fileName = `${slug}-run-${row.run_number}.${row.file_type}`;
      const key = `exports/${row.id}.${row.file_type}`;
      await this.storage.put(key, data, CONTENT_TYPES[row.file_type]);
      const externalId = await this.deliver(row, fileName, data, row.job_name, row.run_number);
      await this.ds.transaction(async (m) => {
        const [[done]] = await m.query<[ExportRow[], number]>(
          `UPDATE job_exports SET status = 'completed', storage_key = $2, file_name = $3, external_id = $4,
                  error_message = NULL, updated_at = now()
            WHERE id = $1 AND status = 'in_progress' RETURNING *`,
          [row.id, key, fileName, externalId],
        );
        if (!done) return;
        await this.outbox.add(m, 'extraction.export.completed.v1', {
          exportId: row.id,
          runId: row.run_id,
          destType: row.dest_type,
          fileType: row.file_type,
          externalId,
        });
        await m.query(
          `UPDATE automation_runs SET status = 'completed', completed_at = now() WHERE export_id = $1 AND status = 'pending'`,
          [row.id],
        );
      });
      this.relay.kick();
      this.metrics.exports.inc({ dest: row.dest_type, outcome: 'completed' });
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const retryable =
        !(err instanceof AccountUnusableError) &&
        !(err instanceof GoogleApiError && !err.retryable);
      if (retryable && attempt < this.config.EVENT_MAX_ATTEMPTS) {
        await this.ds.query(
          `UPDATE job_exports SET error_message = $2, updated_at = now() WHERE id = $1`,
          [row.id, message.slice(0, 2000)],
        );
        throw err;
      }
      await this.fail(row, message);
    }
  }

  private async fail(row: ExportRow, message: string): Promise<void> {
    await this.ds.transaction(async (m) => {
      const [[done]] = await m.query<[ExportRow[], number]>(
        `UPDATE job_exports SET status = 'failed', error_message = $2, updated_at = now()
          WHERE id = $1 AND status = 'in_progress' RETURNING id`,
        [row.id, message.slice(0, 2000)],
      );
      if (!done) return;
      await this.outbox.add(m, 'extraction.export.failed.v1', {
        exportId: row.id,
        runId: row.run_id,
        error: message,
      });
      await m.query(
        `UPDATE automation_runs SET status = 'failed', error_message = $2, completed_at = now()
          WHERE export_id = $1 AND status = 'pending'`,
        [row.id, `export failed: ${message}`.slice(0, 2000)],
      );
    });
    this.relay.kick();
    this.metrics.exports.inc({ dest: row.dest_type, outcome: 'failed' });
    this.logger.warn({ exportId: row.id, err: message }, 'export failed for good');
  }

  private async deliver(
    row: ExportRow,
    fileName: string,
    data: Buffer,
    jobName: string,
    runNumber: number,
  ) {
    if (row.dest_type === 'download') return null;
    if (!row.integration_account_id)
      throw new AccountUnusableError('(none)', 'the account was removed');
    const accountId = row.integration_account_id;
    if (row.dest_type === 'gdrive') {
      const f = await this.accounts.withToken(accountId, (token) =>
        this.google.driveUpload(token, {
          name: fileName,
          mimeType: CONTENT_TYPES[row.file_type].split(';')[0],
          data,
          parents: row.options.folderId ? [row.options.folderId] : undefined,
        }),
      );
      return f.id;
    }
    const mime = await new MailComposer({
      to: row.options.to,
      subject: `Extraction results: ${jobName}, run ${runNumber}`,
      text: `The results of run ${runNumber} of "${jobName}" are attached (${fileName}).`,
      attachments: [
        { filename: fileName, content: data, contentType: CONTENT_TYPES[row.file_type] },
      ],
    })
      .compile()
      .build();
    const sent = await this.accounts.withToken(accountId, (token) =>
      this.google.gmailSend(token, mime),
    );
    return sent.id;
  }
}
