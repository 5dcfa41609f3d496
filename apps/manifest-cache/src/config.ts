import { z } from 'zod';
import { env } from '@app/config';
import { storageSchema } from '@app/storage';

export const manifestCacheSchema = storageSchema.extend({
  VBMS_URL: z.string().url().default('http://127.0.0.1:3200/vbms'),
  VVA_URL: z.string().url().default('http://127.0.0.1:3200/vva'),
  BGS_URL: z.string().url().default('http://127.0.0.1:3200/bgs'),
  UPSTREAM_TIMEOUT_MS: env.int(30_000, 100),
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
