import { z } from 'zod';
import { env } from '@app/config';
import { storageSchema } from '@app/storage';

const optional = z
  .string()
  .optional()
  .transform((v) => (v ? v : undefined));

export const manifestCacheSchema = storageSchema.extend({
  /**
   * VBMS documents: `claims-evidence` (the paged Claims Evidence REST API, what eFolder uses
   * today) or `soap` (the eFolder read service's findDocumentVersionReference).
   */
  VBMS_API: z.enum(['claims-evidence', 'soap']).default('claims-evidence'),
  /** The Claims Evidence API's base URL (…/api/v1/rest is added). */
  CLAIM_EVIDENCE_URL: z.string().url().default('http://127.0.0.1:3200/ce'),
  /** The bearer token Claims Evidence issued to this application (a Secret). */
  CLAIM_EVIDENCE_JWT_TOKEN: z.string().default(''),
  /** VBMS's eFolder read service endpoint (VBMS_API=soap). */
  VBMS_URL: z.string().url().default('http://127.0.0.1:3200/vbms'),
  /** VVA's document list and content services (one WSDL, one endpoint). */
  VVA_URL: z.string().url().default('http://127.0.0.1:3200/vva'),
  VVA_USERNAME: z.string().default(''),
  VVA_PASSWORD: z.string().default(''),
  /** BGS's base URL: each service is at <base>/<Bean>/<Service>. */
  BGS_URL: z.string().url().default('http://127.0.0.1:3200/bgs'),
  /** The application name, client address and system user BGS's audit header carries. */
  BGS_APPLICATION: z.string().min(1).default('CASEFLOW'),
  BGS_CLIENT_IP: z.string().min(1).default('127.0.0.1'),
  /** Who looks up a veteran's other file numbers (eFolder: its system user). */
  BGS_SYSTEM_CSS_ID: z.string().min(1).default('EFOLDER_SYSTEM'),
  BGS_SYSTEM_STATION_ID: z.string().min(1).default('283'),
  /** Per upstream: a client certificate, its key and the CA to trust, as files (a Secret). */
  VBMS_TLS_CERT_FILE: optional,
  VBMS_TLS_KEY_FILE: optional,
  VBMS_TLS_CA_FILE: optional,
  VVA_TLS_CERT_FILE: optional,
  VVA_TLS_KEY_FILE: optional,
  VVA_TLS_CA_FILE: optional,
  BGS_TLS_CERT_FILE: optional,
  BGS_TLS_KEY_FILE: optional,
  BGS_TLS_CA_FILE: optional,
  UPSTREAM_TIMEOUT_MS: env.int(30_000, 100),
  UPSTREAM_CONNECT_TIMEOUT_MS: env.int(10_000, 100),
  /** The largest document accepted inline in a SOAP answer (base64). */
  UPSTREAM_MAX_DOCUMENT_MB: env.int(200, 1),
  /** A source fetched more recently than this is served from the cache (eFolder: 3 hours). */
  MANIFEST_EXPIRY_SECONDS: env.int(3 * 3600, 1),
  /** A failed source is not asked again before this, however often callers poll. */
  FAILED_SOURCE_RETRY_SECONDS: env.int(60, 0),
  /** A fetch claimed longer ago than this is taken as abandoned (worker died). */
  FETCH_CLAIM_SECONDS: env.int(300, 1),
  /** A document count is served from its cache this long (eFolder: 2 hours). */
  DOCUMENT_COUNT_CACHE_SECONDS: env.int(2 * 3600, 0),
  /**
   * Comma-separated document type ids never listed, besides eFolder's own (fiduciary,
   * IRS/SSA, 999981), which are always hidden.
   */
  RESTRICTED_DOCUMENT_TYPES: z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  DOWNLOAD_CONCURRENCY: env.int(4, 1),
});
export type ManifestCacheConfig = z.infer<typeof manifestCacheSchema>;
export type UpstreamName = 'VBMS' | 'VVA' | 'BGS';
