import { serviceDataSource } from '@app/service-kit';
import { PdfWorkflowService } from '../pdf-workflow.module';

/** For the TypeORM CLI (migration:generate, migration:show) against the built app. */
export default serviceDataSource(PdfWorkflowService);
