import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
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
import { checkName } from '../jobs/job-input';
import { JobsService } from '../jobs/jobs.service';
import { automationRunView, automationView } from './automation-rows';
import { AutomationsRepository } from './automations.repository';
import { GmailSync } from './gmail-sync';

/**
 * Automations: create, read, enable or rename, and the firings of each. What they do (Gmail
 * sync, firing runs, exports after a run) is `GmailSync`'s and `AutomationWorkers`'.
 */
@Injectable()
export class AutomationsService {
  constructor(
    private readonly repo: AutomationsRepository,
    private readonly jobs: JobsService,
    private readonly accounts: AccountsService,
    private readonly gmail: GmailSync,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async create(r: RpcRequest<'extraction.automation.create.v1'>): Promise<AutomationView> {
    const owner = ownerOf(r?.actor);
    checkName(r.name);
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
    const row = await this.repo.transaction(async (m) => {
      await ensureUser(m, owner.userId);
      return this.repo.insert(m, owner, {
        name: r.name.trim(),
        triggerType: r.triggerType,
        triggerConfig: { query: t.query.trim(), mimeTypes: t.mimeTypes },
        jobId: r.jobId,
        accountId: r.integrationAccountId,
        exportConfig: { dest: e.dest, fileType: e.fileType, folderId: e.folderId, to: e.to },
      });
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
    const row = await this.repo.one(id, owner.scope);
    if (!row) throw notFound('automation');
    return automationView(row);
  }

  async list(owner: Owner): Promise<AutomationView[]> {
    return (await this.repo.list(owner.scope)).map(automationView);
  }

  async update(owner: Owner, id: string, patch: { isEnabled?: boolean; name?: string }) {
    assertId(id, 'automation');
    if (patch.name !== undefined) checkName(patch.name);
    if (patch.isEnabled !== undefined && typeof patch.isEnabled !== 'boolean')
      throw rpcError('validation_failed', 'isEnabled must be true or false', {
        field: 'isEnabled',
      });
    if (patch.isEnabled) {
      const a = await this.get(owner, id);
      await this.accounts.owned(owner, a.integrationAccountId);
    }
    const row = await this.repo.update(id, owner.tenantId, {
      isEnabled: patch.isEnabled ?? null,
      name: patch.name?.trim() ?? null,
    });
    if (!row) throw notFound('automation');
    return automationView(row);
  }

  async runs(owner: Owner, id: string): Promise<AutomationRunView[]> {
    await this.get(owner, id);
    return (await this.repo.runs(id)).map(automationRunView);
  }
}
