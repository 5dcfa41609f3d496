import { Module } from '@nestjs/common';
import { SERVICE_CONFIG, type ServiceDefinition } from '@app/service-kit';
import { createStorage } from '@app/storage';
import { type ManifestCacheConfig, manifestCacheSchema } from './config';
import { migrations } from './database/migrations';
import { BLOB_STORAGE, DocumentStore } from './manifests/document-store';
import { FetchWorker } from './manifests/fetch.worker';
import { ManifestsController } from './manifests/manifests.controller';
import { ManifestsRepository } from './manifests/manifests.repository';
import { ManifestsService } from './manifests/manifests.service';
import { BgsClient } from './upstream/bgs.client';
import { UpstreamTransport } from './upstream/transport';
import { UpstreamClient } from './upstream/upstream.client';
import { VbmsClient } from './upstream/vbms.client';
import { VvaClient } from './upstream/vva.client';

/** eFolder manifests: one per file number, fetched from VBMS and VVA, shared by every user. */
@Module({
  controllers: [ManifestsController],
  providers: [
    ManifestsRepository,
    ManifestsService,
    FetchWorker,
    UpstreamTransport,
    VbmsClient,
    VvaClient,
    BgsClient,
    UpstreamClient,
    DocumentStore,
    {
      provide: BLOB_STORAGE,
      inject: [SERVICE_CONFIG],
      useFactory: (config: ManifestCacheConfig) => createStorage(config),
    },
  ],
})
export class ManifestCacheModule {}

export const ManifestCacheService: ServiceDefinition = {
  service: 'manifest-cache',
  migrations,
  entities: [],
  imports: [ManifestCacheModule],
  configSchema: manifestCacheSchema,
};
