import { Module } from '@nestjs/common';
import type { ServiceDefinition } from '@app/service-kit';
import { migrations } from './database/migrations';

/** manifest-cache's feature module; its domain issue adds controllers, services and entities. */
@Module({})
export class ManifestCacheModule {}

export const ManifestCacheService: ServiceDefinition = {
  service: 'manifest-cache',
  migrations,
  entities: [],
  imports: [ManifestCacheModule],
};
