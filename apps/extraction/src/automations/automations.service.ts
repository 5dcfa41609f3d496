import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import {
  type AutomationRunView,
  type AutomationView,
  EXPORT_DESTS,
  EXPORT_FILE_TYPES,
  type RpcRequest,
} from '@app/contracts';
import { rpcError } from '@app/messaging';
import { LOGGER } from '@app/service-kit';
import { AccountsService } from '../accounts/accounts.service';
import { assertId, ensureUser, notFound, type Owner, ownerOf } from '../common';
import { JobsService } from '../jobs/jobs.service';
import {
  type AutomationRow,
  type AutomationRunRow,
  automationRunView,
  automationView,
} from './automation-rows';
import { GmailSync } from './gmail-sync';

/**
 * Automations: create, read, enable or rename, and the firings of each. What they do (Gmail
 * sync, firing runs, exports after a run) is `GmailSync`'s and `AutomationWorkers`'.
 */
@Injectable()
export class AutomationsService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly jobs: JobsService,
    private readonly accounts: AccountsService,
    private readonly gmail: GmailSync,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async create(r: RpcRequest<'extraction.automation.create.v1'>): Promise<AutomationView> {
    const owner = ownerOf(r?.actor);
    if (typeof r.name !== 'string' || !r.name.trim() || r.name.length > 255)
      throw rpcError('validation_failed', 'name must be 1 to 255 characters', { field: 'name' });
    if (r.triggerType !== 'gmail_attachment')
      throw rpcError('validation_failed', 'triggerType must be gmail_attachment', {
        field: 'triggerType',
      });
    const t = r.triggerConfig;
    if (typeof t?.query !== 'string' || !t.query.trim() || t.query.length > 500)
      throw rpcError(
        'validation_failed',
        'triggerConfig.query must be a Gmail search of 1 to 500 characters',
        {
          field: 'triggerConfig.query',
        },
      );
    if (
      !Array.isArray(t.mimeTypes) ||
      t.mimeTypes.length < 1 ||
      !t.mimeTypes.every((x) => typeof x === 'string')
    )
      throw rpcError(
        'validation_failed',
        'triggerConfig.mimeTypes must list at least one MIME type',
        {
          field: 'triggerConfig.mimeTypes',
        },
      );
    const e = r.exportConfig;
    if (!EXPORT_DESTS.includes(e?.dest) || !EXPORT_FILE_TYPES.includes(e?.fileType))
      throw rpcError(
        'validation_failed',
        'exportConfig needs dest (download, gdrive, gmail) and fileType (csv, xlsx)',
        {
          field: 'exportConfig',
        },
      );
    if (
      e.dest === 'gmail' &&
      !(typeof e.to === 'string' && /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e.to))
    )
      throw rpcError('validation_failed', 'exportConfig.to must be an email address for gmail', {
        field: 'exportConfig.to',
      });
    const job = await this.jobs.get(owner, r.jobId);
    if (job.fields.length === 0)
      throw rpcError('validation_failed', 'the job has no fields to extract', { field: 'jobId' });
    await this.accounts.owned(owner, r.integrationAccountId);
    const row = await this.ds.transaction(async (m) => {
      await ensureUser(m, owner.userId);
      const [a] = await m.query<AutomationRow[]>(
        `INSERT INTO automations (user_id, name, trigger_type, trigger_config, job_id, integration_account_id, export_config, tenant_id)
         VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8) RETURNING *`,
        [
          owner.userId,
          r.name.trim(),
          r.triggerType,
          JSON.stringify({ query: t.query.trim(), mimeTypes: t.mimeTypes }),
          r.jobId,
          r.integrationAccountId,
          JSON.stringify({ dest: e.dest, fileType: e.fileType, folderId: e.folderId, to: e.to }),
          owner.tenantId,
        ],
      );
      return a;
    });
    // Start from now (mail already there does not fire) and make sure Gmail pushes. If Google
    // is away, the maintenance job does both later.
    try {
      await this.gmail.start(row);
    } catch (err) {
      this.logger.warn(
        { automationId: row.id, err: (err as Error).message },
        'automation set-up deferred',
      );
    }
    return this.get(owner, row.id);
  }

  async get(owner: Owner, id: unknown): Promise<AutomationView> {
    assertId(id, 'automation');
    const [row] = await this.ds.query<AutomationRow[]>(
      `SELECT * FROM automations WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      [id, owner.scope],
    );
    if (!row) throw notFound('automation');
    return automationView(row);
  }

  async list(owner: Owner): Promise<AutomationView[]> {
    const rows = await this.ds.query<AutomationRow[]>(
      `SELECT * FROM automations WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY created_at DESC, id DESC`,
      [owner.scope],
    );
    return rows.map(automationView);
  }

  async update(owner: Owner, id: string, patch: { isEnabled?: boolean; name?: string }) {
    assertId(id, 'automation');
    if (
      patch.name !== undefined &&
      (typeof patch.name !== 'string' || !patch.name.trim() || patch.name.length > 255)
    )
      throw rpcError('validation_failed', 'name must be 1 to 255 characters', { field: 'name' });
    if (patch.isEnabled !== undefined && typeof patch.isEnabled !== 'boolean')
      throw rpcError('validation_failed', 'isEnabled must be true or false', {
        field: 'isEnabled',
      });
    if (patch.isEnabled) {
      const a = await this.get(owner, id);
      await this.accounts.owned(owner, a.integrationAccountId);
    }
    const [[row]] = await this.ds.query<[AutomationRow[], number]>(
      `UPDATE automations SET is_enabled = coalesce($3, is_enabled), name = coalesce($4, name), updated_at = now()
        WHERE id = $1 AND tenant_id = $2 RETURNING *`,
      [id, owner.tenantId, patch.isEnabled ?? null, patch.name?.trim() ?? null],
    );
    if (!row) throw notFound('automation');
    return automationView(row);
  }

  async runs(owner: Owner, id: string): Promise<AutomationRunView[]> {
    await this.get(owner, id);
    const rows = await this.ds.query<AutomationRunRow[]>(
      `SELECT * FROM automation_runs WHERE automation_id = $1 ORDER BY triggered_at DESC, id DESC LIMIT 500`,
      [id],
    );
    return rows.map(automationRunView);
  }
}
