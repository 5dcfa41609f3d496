import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import type { ExtractionRpc, RpcRequest } from '@app/contracts';
import { AccountsService } from './accounts/accounts.service';
import { AutomationsService } from './automations/automations.service';
import { ExportsService } from './exports/exports.service';
import { JobsService } from './jobs/jobs.service';
import { ownerOf } from './common';

type R<P extends keyof ExtractionRpc> = RpcRequest<P>;

@Controller()
export class ExtractionController {
  constructor(
    private readonly jobs: JobsService,
    private readonly exports: ExportsService,
    private readonly accounts: AccountsService,
    private readonly automations: AutomationsService,
  ) {}

  @MessagePattern('extraction.data-type.list.v1')
  dataTypes() {
    return this.jobs.dataTypes();
  }

  @MessagePattern('extraction.job.create.v1')
  createJob(@Payload() r: R<'extraction.job.create.v1'>) {
    return this.jobs.create(ownerOf(r.actor), r.name, r.fields, r.templateId);
  }

  @MessagePattern('extraction.template.create.v1')
  createTemplate(@Payload() r: R<'extraction.template.create.v1'>) {
    return this.jobs.createTemplate(ownerOf(r.actor), r.name, r.fields);
  }

  @MessagePattern('extraction.template.list.v1')
  templates(@Payload() r: R<'extraction.template.list.v1'>) {
    return this.jobs.templates(ownerOf(r.actor));
  }

  @MessagePattern('extraction.job.get.v1')
  getJob(@Payload() r: R<'extraction.job.get.v1'>) {
    return this.jobs.get(ownerOf(r.actor), r.id);
  }

  @MessagePattern('extraction.job.list.v1')
  listJobs(@Payload() r: R<'extraction.job.list.v1'>) {
    return this.jobs.list(ownerOf(r.actor), r.limit, r.cursor);
  }

  @MessagePattern('extraction.job.fields.replace.v1')
  replaceFields(@Payload() r: R<'extraction.job.fields.replace.v1'>) {
    return this.jobs.replaceFields(ownerOf(r.actor), r.id, r.fields);
  }

  @MessagePattern('extraction.file.add.v1')
  addFile(@Payload() r: R<'extraction.file.add.v1'>) {
    return this.jobs.addFile(ownerOf(r.actor), r.jobId, r.file);
  }

  @MessagePattern('extraction.file.list.v1')
  files(@Payload() r: R<'extraction.file.list.v1'>) {
    return this.jobs.files(ownerOf(r.actor), r.jobId);
  }

  @MessagePattern('extraction.file.remove.v1')
  removeFile(@Payload() r: R<'extraction.file.remove.v1'>) {
    return this.jobs.removeFile(ownerOf(r.actor), r.jobId, r.fileId);
  }

  @MessagePattern('extraction.run.start.v1')
  startRun(@Payload() r: R<'extraction.run.start.v1'>) {
    return this.jobs.startRun(ownerOf(r.actor), r.jobId);
  }

  @MessagePattern('extraction.run.list.v1')
  runs(@Payload() r: R<'extraction.run.list.v1'>) {
    return this.jobs.runs(ownerOf(r.actor), r.jobId);
  }

  @MessagePattern('extraction.run.get.v1')
  run(@Payload() r: R<'extraction.run.get.v1'>) {
    return this.jobs.run(ownerOf(r.actor), r.id);
  }

  @MessagePattern('extraction.run.results.v1')
  results(@Payload() r: R<'extraction.run.results.v1'>) {
    return this.jobs.results(ownerOf(r.actor), r.id);
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
    return this.automations.push(r.emailAddress, r.historyId);
  }
}
