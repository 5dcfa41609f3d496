import 'reflect-metadata';
import { runService } from '@app/service-kit';
import { ExtractionService } from './extraction.module';

void runService(ExtractionService);
