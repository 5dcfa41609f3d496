import { Module } from '@nestjs/common';
import type { ServiceDefinition } from '@app/service-kit';
import { formCopiesSchema } from './config';
import { CopiesController } from './copies/copies.controller';
import { CopiesRepository } from './copies/copies.repository';
import { CopiesService } from './copies/copies.service';
import { migrations } from './database/migrations';

/** Working copies of application forms: one JSONB document each, one writer at a time. */
@Module({
  controllers: [CopiesController],
  providers: [CopiesRepository, CopiesService],
})
export class FormCopiesModule {}

export const FormCopiesService: ServiceDefinition = {
  service: 'form-copies',
  migrations,
  entities: [],
  imports: [FormCopiesModule],
  configSchema: formCopiesSchema,
};
