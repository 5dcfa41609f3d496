import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ExtractionRpc, RpcRequest } from '@app/contracts';
import { AccountsService } from './accounts/accounts.service';
import { AutomationsService } from './automations/automations.service';
import { GmailSync } from './automations/gmail-sync';
import { ExportsService } from './exports/exports.service';
import { FileSourcesService } from './jobs/file-sources.service';
import { JobsService } from './jobs/jobs.service';
import { RunsService } from './jobs/runs.service';
import { TemplatesService } from './jobs/templates.service';
import { ownerOf } from './common';

type R<P extends keyof ExtractionRpc> = RpcRequest<P>;

@Controller()
export class ExtractionController {
  constructor(
    private readonly jobs: JobsService,
    private readonly templates: TemplatesService,
    private readonly sources: FileSourcesService,
    private readonly jobRuns: RunsService,
    private readonly exports: ExportsService,
    private readonly accounts: AccountsService,
    private readonly automations: AutomationsService,
    private readonly gmail: GmailSync,
  ) {}

  @MessagePattern('extraction.data-type.list.v1')
  dataTypes() {
    return this.jobs.dataTypes();
  }

  @MessagePattern('extraction.job.create.v1')
  createJob(@Payload() r: R<'extraction.job.create.v1'>) {
    const { actor, ...input } = r;
    return this.jobs.create(ownerOf(actor), input);
  }

  @MessagePattern('extraction.template.create.v1')
  createTemplate(@Payload() r: R<'extraction.template.create.v1'>) {
    return this.templates.create(ownerOf(r.actor), r.name, r.fields);
  }

  @MessagePattern('extraction.template.list.v1')
  listTemplates(@Payload() r: R<'extraction.template.list.v1'>) {
    return this.templates.list(ownerOf(r.actor));
  }

  @MessagePattern('extraction.job.get.v1')
  getJob(@Payload() r: R<'extraction.job.get.v1'>) {
    return this.jobs.get(ownerOf(r.actor), r.id);
  }

  @MessagePattern('extraction.job.list.v1')
  listJobs(@Payload() r: R<'extraction.job.list.v1'>) {
    return this.jobs.list(ownerOf(r.actor), r.limit, r.cursor);
  }

  @MessagePattern('extraction.job.update.v1')
  updateJob(@Payload() r: R<'extraction.job.update.v1'>) {
    return this.jobs.update(ownerOf(r.actor), r.id, r);
  }

  @MessagePattern('extraction.job.fields.replace.v1')
  replaceFields(@Payload() r: R<'extraction.job.fields.replace.v1'>) {
    return this.jobs.replaceFields(ownerOf(r.actor), r.id, r.fields);
  }

  @MessagePattern('extraction.file.add.v1')
  addFile(@Payload() r: R<'extraction.file.add.v1'>) {
    return this.sources.add(ownerOf(r.actor), r.jobId, r.file);
  }

  @MessagePattern('extraction.file.list.v1')
  files(@Payload() r: R<'extraction.file.list.v1'>) {
    return this.sources.list(ownerOf(r.actor), r.jobId);
  }

  @MessagePattern('extraction.file.remove.v1')
  removeFile(@Payload() r: R<'extraction.file.remove.v1'>) {
    return this.sources.remove(ownerOf(r.actor), r.jobId, r.fileId);
  }

  @MessagePattern('extraction.run.start.v1')
  startRun(@Payload() r: R<'extraction.run.start.v1'>) {
    return this.jobRuns.start(ownerOf(r.actor), r.jobId, r.engine);
  }

  @MessagePattern('extraction.run.list.v1')
  runs(@Payload() r: R<'extraction.run.list.v1'>) {
    return this.jobRuns.list(ownerOf(r.actor), r.jobId);
  }

  @MessagePattern('extraction.run.get.v1')
  run(@Payload() r: R<'extraction.run.get.v1'>) {
    return this.jobRuns.get(ownerOf(r.actor), r.id);
  }

  @MessagePattern('extraction.run.results.v1')
  results(@Payload() r: R<'extraction.run.results.v1'>) {
    return this.jobRuns.results(ownerOf(r.actor), r.id);
  }

  @MessagePattern('extraction.export.create.v1')
  createExport(@Payload() r: R<'extraction.export.create.v1'>) {
    return this.exports.create(r);
  }

  @MessagePattern('extraction.export.get.v1')
  getExport(@Payload() r: R<'extraction.export.get.v1'>) {
    return this.exports.get(ownerOf(r.actor), r.id);
  }

  @MessagePattern('extraction.oauth.authorize.v1')
  authorize(@Payload() r: R<'extraction.oauth.authorize.v1'>) {
    return this.accounts.authorize(ownerOf(r.actor), r.provider, r.redirectUri);
  }

  @MessagePattern('extraction.oauth.callback.v1')
  callback(@Payload() r: R<'extraction.oauth.callback.v1'>) {
    return this.accounts.callback(ownerOf(r.actor), r.provider, r.code, r.state);
  }

  @MessagePattern('extraction.account.list.v1')
  accountsList(@Payload() r: R<'extraction.account.list.v1'>) {
    return this.accounts.list(ownerOf(r.actor));
  }

  @MessagePattern('extraction.account.disconnect.v1')
  disconnect(@Payload() r: R<'extraction.account.disconnect.v1'>) {
    return this.accounts.disconnect(ownerOf(r.actor), r.id);
  }

  @MessagePattern('extraction.automation.create.v1')
  createAutomation(@Payload() r: R<'extraction.automation.create.v1'>) {
    return this.automations.create(r);
  }

  @MessagePattern('extraction.automation.get.v1')
  getAutomation(@Payload() r: R<'extraction.automation.get.v1'>) {
    return this.automations.get(ownerOf(r.actor), r.id);
  }

  @MessagePattern('extraction.automation.list.v1')
  listAutomations(@Payload() r: R<'extraction.automation.list.v1'>) {
    return this.automations.list(ownerOf(r.actor));
  }

  @MessagePattern('extraction.automation.update.v1')
  updateAutomation(@Payload() r: R<'extraction.automation.update.v1'>) {
    return this.automations.update(ownerOf(r.actor), r.id, {
      isEnabled: r.isEnabled,
      name: r.name,
    });
  }

  @MessagePattern('extraction.automation.runs.v1')
  automationRuns(@Payload() r: R<'extraction.automation.runs.v1'>) {
    return this.automations.runs(ownerOf(r.actor), r.id);
  }

  @MessagePattern('extraction.gmail.push.v1')
  push(@Payload() r: R<'extraction.gmail.push.v1'>) {
    return this.gmail.push(r.emailAddress, r.historyId);
  }
}
