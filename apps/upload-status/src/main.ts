import 'reflect-metadata';
import { runService } from '@app/service-kit';
import { UploadStatusService } from './upload-status.module';

void runService(UploadStatusService);
