import 'reflect-metadata';
import { runService } from '@app/service-kit';
import { PdfWorkflowService } from './pdf-workflow.module';

void runService(PdfWorkflowService);
