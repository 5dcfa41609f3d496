import { serviceDataSource } from '@app/service-kit';
import { UploadStatusService } from '../upload-status.module';

/** For the TypeORM CLI (migration:generate, migration:show) against the built app. */
export default serviceDataSource(UploadStatusService);
