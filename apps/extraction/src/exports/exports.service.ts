import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import {
  EXPORT_DESTS,
  EXPORT_FILE_TYPES,
  type ExportFileType,
  type ExportView,
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
import { resultView } from '../jobs/views';
import { type ExportRow, ExportsRepository, type NewExport } from './exports.repository';
import { resultTable, toCsv, toXlsx } from './export-files';

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
    private readonly repo: ExportsRepository,
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
    const row = await this.repo.transaction((m) =>
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
  async createIn(m: EntityManager, e: NewExport): Promise<ExportRow> {
    const row = await this.repo.insert(m, e);
    await this.outbox.add(m, 'extraction.export.requested.v1', { exportId: row.id });
    return row;
  }

  async get(owner: Owner, id: unknown) {
    assertId(id, 'export');
    const row = await this.repo.one(id, owner.scope);
    if (!row) throw notFound('export');
    return { ...view(row), storageKey: row.storage_key, contentType: CONTENT_TYPES[row.file_type] };
  }

  /** Builds and delivers one export; `attempt` is the bus's count for this message. */
  async process(exportId: string, attempt = 1): Promise<void> {
    const row = await this.repo.claim(exportId);
    if (!row) return; // finished already
    try {
      const results = (await this.repo.results(row.run_id)).map((r) =>
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
      await this.repo.transaction(async (m) => {
        if (!(await this.repo.completed(m, row.id, { key, fileName, externalId }))) return;
        await this.outbox.add(m, 'extraction.export.completed.v1', {
          exportId: row.id,
          runId: row.run_id,
          destType: row.dest_type,
          fileType: row.file_type,
          externalId,
        });
      });
      this.relay.kick();
      this.metrics.exports.inc({ dest: row.dest_type, outcome: 'completed' });
    } catch (err) {
      const message = (err as Error).message ?? String(err);
      const retryable =
        !(err instanceof AccountUnusableError) &&
        !(err instanceof GoogleApiError && !err.retryable);
      if (retryable && attempt < this.config.EVENT_MAX_ATTEMPTS) {
        await this.repo.noteError(row.id, message);
        throw err;
      }
      await this.fail(row, message);
    }
  }

  private async fail(row: ExportRow, message: string): Promise<void> {
    await this.repo.transaction(async (m) => {
      if (!(await this.repo.failed(m, row.id, message))) return;
      await this.outbox.add(m, 'extraction.export.failed.v1', {
        exportId: row.id,
        runId: row.run_id,
        error: message,
      });
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
