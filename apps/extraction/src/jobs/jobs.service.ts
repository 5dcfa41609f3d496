import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { Engine, JobFieldInput, JobView } from '@app/contracts';
import { rpcError } from '@app/messaging';
import { assertId, ensureUser, notFound, type Owner } from '../common';
import { checkCurrency, checkEngine, checkFields, checkName } from './job-input';
import { JobsRepository } from './jobs.repository';
import { jobView } from './views';

/** Jobs and their fields and settings; templates, files and runs have services of their own. */
@Injectable()
export class JobsService {
  constructor(private readonly repo: JobsRepository) {}

  dataTypes() {
    return this.repo.dataTypes();
  }

  async create(
    owner: Owner,
    input: {
      name: string;
      fields?: JobFieldInput[];
      templateId?: string;
      engine?: Engine;
      defaultCurrency?: string;
    },
  ): Promise<JobView> {
    const { name, fields, templateId } = input;
    checkName(name);
    if (templateId !== undefined) assertId(templateId, 'template');
    else checkFields(fields);
    const engine = checkEngine(input.engine) ?? null;
    const defaultCurrency = checkCurrency(input.defaultCurrency) ?? null;
    const id = await this.repo.transaction(async (m) => {
      await ensureUser(m, owner.userId);
      let own = fields;
      if (templateId) {
        const t = await this.repo.templateFields(m, templateId, owner.tenantId);
        if (!t) throw notFound('template');
        own = fields ?? t;
        checkFields(own);
      }
      const jobId = await this.repo.insertJob(m, owner, {
        name: name.trim(),
        templateId: templateId ?? null,
        engine,
        defaultCurrency,
      });
      await this.repo.writeFields(m, jobId, own!);
      return jobId;
    });
    return this.get(owner, id);
  }

  async get(owner: Owner, id: unknown): Promise<JobView> {
    assertId(id, 'job');
    const row = await this.repo.job(id, owner.scope);
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
    const rows = await this.repo.jobs(owner.scope, after, n + 1);
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

  /** The job's engine and default currency; runs already made keep what they ran with. */
  async update(
    owner: Owner,
    id: string,
    set: { engine?: Engine | null; defaultCurrency?: string | null },
  ): Promise<JobView> {
    const engine = checkEngine(set.engine, true);
    const defaultCurrency = checkCurrency(set.defaultCurrency);
    await this.repo.transaction(async (m) => {
      await this.lockJob(m, owner, id);
      await this.repo.updateJob(m, id, { engine, defaultCurrency });
    });
    return this.get(owner, id);
  }

  /** Replaces the job's fields; runs already made keep the fields they ran with. */
  async replaceFields(owner: Owner, id: string, fields: JobFieldInput[]): Promise<JobView> {
    checkFields(fields);
    await this.repo.transaction(async (m) => {
      await this.lockJob(m, owner, id);
      await this.repo.replaceFields(m, id, fields);
    });
    return this.get(owner, id);
  }

  /** The caller's job exists (a key lookup, not the job's whole view); 404 otherwise. */
  async assertOwned(owner: Owner, id: unknown): Promise<void> {
    assertId(id, 'job');
    if (!(await this.repo.jobExists(id, owner.scope))) throw notFound('job');
  }

  /** Locks the caller's job row (serialises run numbers and file adds); 404 otherwise. */
  async lockJob(m: EntityManager, owner: Owner, id: unknown): Promise<void> {
    assertId(id, 'job');
    if (!(await this.repo.lockJob(m, id, owner.tenantId))) throw notFound('job');
  }
}
