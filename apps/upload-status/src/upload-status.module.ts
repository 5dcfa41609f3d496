import { Module } from '@nestjs/common';
import type { ServiceDefinition } from '@app/service-kit';
import { migrations } from './database/migrations';

/** upload-status's feature module; its domain issue adds controllers, services and entities. */
@Module({})
export class UploadStatusModule {}

export const UploadStatusService: ServiceDefinition = {
  service: 'upload-status',
  migrations,
  entities: [],
  imports: [UploadStatusModule],
};
