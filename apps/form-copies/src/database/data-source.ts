import { serviceDataSource } from '@app/service-kit';
import { FormCopiesService } from '../form-copies.module';

/** For the TypeORM CLI (migration:generate, migration:show) against the built app. */
export default serviceDataSource(FormCopiesService);
