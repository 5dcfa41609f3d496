import 'reflect-metadata';
import { runService } from '@app/service-kit';
import { ManifestCacheService } from './manifest-cache.module';

void runService(ManifestCacheService);
