import 'reflect-metadata';
import { runService } from '@app/service-kit';
import { FormCopiesService } from './form-copies.module';

void runService(FormCopiesService);
