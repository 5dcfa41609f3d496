import { Module } from '@nestjs/common';
import type { ServiceDefinition } from '@app/service-kit';
import { migrations } from './database/migrations';

/** extraction's feature module; its domain issue adds controllers, services and entities. */
@Module({})
export class ExtractionModule {}

export const ExtractionService: ServiceDefinition = {
  service: 'extraction',
  migrations,
  entities: [],
  imports: [ExtractionModule],
};
