import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import type { ServiceDefinition } from '@app/service-kit';
import { uploadStatusSchema } from './config';
import { migrations } from './database/migrations';
import { LighthouseClient } from './lighthouse/lighthouse.client';
import { LighthousePace } from './lighthouse/lighthouse-pace';
import { BatchWorker } from './polling/batch.worker';
import { Poller } from './polling/poller';
import { UploadMetrics } from './uploads/upload-metrics';
import { UploadsController } from './uploads/uploads.controller';
import { UploadsRepository } from './uploads/uploads.repository';
import { UploadsService } from './uploads/uploads.service';

/** Form 526 document uploads, kept true by polling Lighthouse's bulk status endpoint. */
@Module({
  imports: [ScheduleModule.forRoot()],
  controllers: [UploadsController],
  providers: [
    UploadsRepository,
    UploadsService,
    UploadMetrics,
    LighthousePace,
    LighthouseClient,
    Poller,
    BatchWorker,
  ],
})
export class UploadStatusModule {}

export const UploadStatusService: ServiceDefinition = {
  service: 'upload-status',
  migrations,
  entities: [],
  imports: [UploadStatusModule],
  configSchema: uploadStatusSchema,
};
