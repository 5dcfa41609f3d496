import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { SERVICE_CONFIG, type ServiceDefinition } from '@app/service-kit';
import { createStorage } from '@app/storage';
import { AccountsRepository } from './accounts/accounts.repository';
import { AccountsService } from './accounts/accounts.service';
import { TokenVault } from './accounts/token-vault';
import { AutomationWorkers } from './automations/automation-workers';
import { AutomationsRepository } from './automations/automations.repository';
import { AutomationsService } from './automations/automations.service';
import { GmailSync } from './automations/gmail-sync';
import { RunHooks } from './jobs/run-hooks';
import { type ExtractionConfig, extractionSchema } from './config';
import { migrations } from './database/migrations';
import { ExportsRepository } from './exports/exports.repository';
import { ExportsService } from './exports/exports.service';
import { ExtractionController } from './extraction.controller';
import { GoogleClient } from './google/google.client';
import { ExtractionMetrics } from './jobs/extraction-metrics';
import { FileSourcesService } from './jobs/file-sources.service';
import { JobsRepository } from './jobs/jobs.repository';
import { JobsService } from './jobs/jobs.service';
import { RunsService } from './jobs/runs.service';
import { BLOB_STORAGE } from './jobs/storage-token';
import { TemplatesService } from './jobs/templates.service';
import { Maintenance } from './jobs/maintenance';
import { TaskWorker } from './jobs/task.worker';
import { TasksRepository } from './jobs/tasks.repository';
import { ExtractPool } from './extract/extract-pool';
import { ModelEngine } from './extract/model/model-engine';

/** Extraction jobs over uploads, Drive and Gmail; runs on a work queue; exports; automations. */
@Module({
  imports: [ScheduleModule.forRoot()],
  controllers: [ExtractionController],
  providers: [
    ExtractionMetrics,
    GoogleClient,
    TokenVault,
    AccountsRepository,
    AccountsService,
    JobsRepository,
    JobsService,
    TemplatesService,
    FileSourcesService,
    RunsService,
    TasksRepository,
    TaskWorker,
    ExtractPool,
    ModelEngine,
    ExportsRepository,
    ExportsService,
    AutomationsRepository,
    AutomationsService,
    GmailSync,
    AutomationWorkers,
    RunHooks,
    Maintenance,
    {
      provide: BLOB_STORAGE,
      inject: [SERVICE_CONFIG],
      useFactory: (c: ExtractionConfig) => createStorage(c),
    },
  ],
})
export class ExtractionModule {}

export const ExtractionService: ServiceDefinition = {
  service: 'extraction',
  migrations,
  entities: [],
  imports: [ExtractionModule],
  configSchema: extractionSchema,
};
