import { serviceDataSource } from '@app/service-kit';
import { ExtractionService } from '../extraction.module';

/** For the TypeORM CLI (migration:generate, migration:show) against the built app. */
export default serviceDataSource(ExtractionService);
