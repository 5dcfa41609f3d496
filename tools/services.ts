import { SERVICES, type ServiceName } from '@app/contracts';
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

/** Everything that owns a schema: the services, and the gateway (its API keys and audit). */
export const SCHEMA_OWNERS = [...SERVICES, 'gateway'] as const;
export type SchemaOwner = (typeof SCHEMA_OWNERS)[number];

export function isSchemaOwner(s: string): s is SchemaOwner {
  return (SCHEMA_OWNERS as readonly string[]).includes(s);
}

/** The schema an owner's tables live in. */
export function schemaOfOwner(owner: SchemaOwner): string {
  return owner.replace(/-/g, '_');
}

/** `MANIFEST_CACHE_DATABASE_URL`, `GATEWAY_DATABASE_URL` etc. override DATABASE_URL for one. */
export function databaseUrlEnvOf(service: SchemaOwner): string {
  return `${service.replace(/-/g, '_').toUpperCase()}_DATABASE_URL`;
}
