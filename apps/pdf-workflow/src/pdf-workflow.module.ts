import { Module } from '@nestjs/common';
import type { ServiceDefinition } from '@app/service-kit';
import { migrations } from './database/migrations';

/** pdf-workflow's feature module; its domain issue adds controllers, services and entities. */
@Module({})
export class PdfWorkflowModule {}

export const PdfWorkflowService: ServiceDefinition = {
  service: 'pdf-workflow',
  migrations,
  entities: [],
  imports: [PdfWorkflowModule],
};
