import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { SERVICE_CONFIG, type ServiceDefinition } from '@app/service-kit';
import { createStorage } from '@app/storage';
import { AccountsService } from './accounts/accounts.service';
import { TokenVault } from './accounts/token-vault';
import { AutomationsService } from './automations/automations.service';
import { type ExtractionConfig, extractionSchema } from './config';
import { migrations } from './database/migrations';
import { ExportsService } from './exports/exports.service';
import { ExtractionController } from './extraction.controller';
import { GoogleClient } from './google/google.client';
import { ExtractionMetrics } from './jobs/extraction-metrics';
import { BLOB_STORAGE, JobsService } from './jobs/jobs.service';
import { Maintenance } from './jobs/maintenance';
import { TaskWorker } from './jobs/task.worker';
import { ExtractPool } from './extract/extract-pool';

/** Extraction jobs over uploads, Drive and Gmail; runs on a work queue; exports; automations. */
@Module({
  imports: [ScheduleModule.forRoot()],
  controllers: [ExtractionController],
  providers: [
    ExtractionMetrics,
    GoogleClient,
    TokenVault,
    AccountsService,
    JobsService,
    TaskWorker,
    ExtractPool,
    ExportsService,
    AutomationsService,
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
