import { Injectable } from '@nestjs/common';
import type { JobFieldInput, TemplateView } from '@app/contracts';
import { ensureUser, type Owner } from '../common';
import { checkFields, checkName } from './job-input';
import { JobsRepository, type TemplateRow } from './jobs.repository';

/** Templates: named field sets a job can start from. */
@Injectable()
export class TemplatesService {
  constructor(private readonly repo: JobsRepository) {}

  async create(owner: Owner, name: string, fields: JobFieldInput[]): Promise<TemplateView> {
    checkName(name);
    checkFields(fields);
    return this.repo.transaction(async (m) => {
      await ensureUser(m, owner.userId);
      const own = fields.map(({ name: n, dataType, description }) => ({
        name: n,
        dataType,
        description,
      }));
      return templateView(await this.repo.insertTemplate(m, owner, name.trim(), own));
    });
  }

  async list(owner: Owner): Promise<TemplateView[]> {
    return (await this.repo.templates(owner.scope)).map(templateView);
  }
}

const templateView = (t: TemplateRow): TemplateView => ({
  id: t.id,
  name: t.name,
  fields: t.fields,
  createdAt: t.created_at.toISOString(),
  updatedAt: t.updated_at.toISOString(),
});
