import { Module } from '@nestjs/common';
import type { ServiceDefinition } from '@app/service-kit';
import { migrations } from './database/migrations';

/** form-copies's feature module; its domain issue adds controllers, services and entities. */
@Module({})
export class FormCopiesModule {}

export const FormCopiesService: ServiceDefinition = {
  service: 'form-copies',
  migrations,
  entities: [],
  imports: [FormCopiesModule],
};
