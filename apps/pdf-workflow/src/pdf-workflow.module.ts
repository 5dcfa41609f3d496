import { Module } from '@nestjs/common';
import { ScheduleModule } from '@nestjs/schedule';
import { SERVICE_CONFIG, type ServiceDefinition } from '@app/service-kit';
import { workflowAnswerCodecs } from './adapters/links';
import { createStorage } from '@app/storage';
import { Notifier } from './adapters/notifier';
import { Scanner } from './adapters/scanner';
import { type PdfWorkflowConfig, pdfWorkflowSchema } from './config';
import { migrations } from './database/migrations';
import { PdfPool } from './pdf/pdf-pool';
import { SealKeys } from './pdf/seal-key';
import { DocumentRenderer } from './workflows/document-renderer';
import { TurnNotifier } from './workflows/turn-notifier';
import { WorkflowJobs } from './workflows/jobs';
import { JobsRepository } from './workflows/jobs.repository';
import { WorkflowsController } from './workflows/workflows.controller';
import { WorkflowsRepository } from './workflows/workflows.repository';
import { BLOB_STORAGE } from './workflows/tokens';
import { WorkflowsService } from './workflows/workflows.service';
import { CreatorsService } from './workflows/creators.service';
import { CreatorsRepository } from './workflows/creators.repository';

/** PDF workflows: a document passes through recipients in order, each through a secret link. */
@Module({
  imports: [ScheduleModule.forRoot()],
  controllers: [WorkflowsController],
  providers: [
    WorkflowsRepository,
    CreatorsRepository,
    JobsRepository,
    WorkflowsService,
    CreatorsService,
    WorkflowJobs,
    TurnNotifier,
    DocumentRenderer,
    SealKeys,
    PdfPool,
    Notifier,
    Scanner,
    {
      provide: BLOB_STORAGE,
      inject: [SERVICE_CONFIG],
      useFactory: (c: PdfWorkflowConfig) => createStorage(c),
    },
  ],
})
export class PdfWorkflowModule {}

export const PdfWorkflowService: ServiceDefinition = {
  service: 'pdf-workflow',
  migrations,
  entities: [],
  imports: [PdfWorkflowModule],
  configSchema: pdfWorkflowSchema,
  // A created workflow's answer holds the recipients' links: kept without them (the
  // config is the one validated with configSchema above).
  answerCodecs: (c) => workflowAnswerCodecs(c as unknown as PdfWorkflowConfig),
};
