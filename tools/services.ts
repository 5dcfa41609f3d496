import type { ServiceName } from '@app/contracts';
import type { ServiceDefinition } from '@app/service-kit';
import { ExtractionService } from '../apps/extraction/src/extraction.module';
import { FormCopiesService } from '../apps/form-copies/src/form-copies.module';
import { ManifestCacheService } from '../apps/manifest-cache/src/manifest-cache.module';
import { PdfWorkflowService } from '../apps/pdf-workflow/src/pdf-workflow.module';
import { UploadStatusService } from '../apps/upload-status/src/upload-status.module';

/** Every service's definition, for the operator tools (migrate, start). */
export const DEFINITIONS: Record<ServiceName, ServiceDefinition> = {
  'manifest-cache': ManifestCacheService,
  'upload-status': UploadStatusService,
  'form-copies': FormCopiesService,
  'pdf-workflow': PdfWorkflowService,
  extraction: ExtractionService,
};

/** `MANIFEST_CACHE_DATABASE_URL` etc. override DATABASE_URL for one service. */
export function databaseUrlEnvOf(service: ServiceName): string {
  return `${service.replace(/-/g, '_').toUpperCase()}_DATABASE_URL`;
}
