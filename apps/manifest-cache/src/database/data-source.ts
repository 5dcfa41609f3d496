import { serviceDataSource } from '@app/service-kit';
import { ManifestCacheService } from '../manifest-cache.module';

/** For the TypeORM CLI (migration:generate, migration:show) against the built app. */
export default serviceDataSource(ManifestCacheService);
