import { z } from 'zod';
import { baseSchema, env } from '@app/config';
import { TENANT_ID_PATTERN } from '@app/contracts';
import { storageSchema } from '@app/storage';

const apiKeyEntry = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  /** Hex SHA-256 of the key; the key itself is never stored. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  scopes: z.array(z.string().min(1)).min(1),
  /** The tenant the key belongs to (`default` when unnamed). */
  tenant: z.string().regex(TENANT_ID_PATTERN).optional(),
});
export type ApiKeyEntry = z.infer<typeof apiKeyEntry>;

export const gatewaySchema = baseSchema
  .merge(storageSchema)
  .extend({
    PORT: env.int(3000, 0),
    HOST: z.string().default('0.0.0.0'),
    /** An internal port serving only /metrics, with no key, for Prometheus (0: none). */
    METRICS_PORT: env.int(0, 0),
    /** JSON array of {id, sha256, scopes, tenant?}; mounted from a Secret in production. */
    API_KEYS: z
      .string()
      .default('[]')
      .transform((v, ctx) => {
        try {
          return z.array(apiKeyEntry).parse(JSON.parse(v));
        } catch (err) {
          ctx.addIssue({
            code: z.ZodIssueCode.custom,
            message: `must be a JSON array of {id, sha256, scopes}: ${(err as Error).message.slice(0, 200)}`,
          });
          return z.NEVER;
        }
      }),
    /** The gateway's own schema: managed API keys and the audit of cross-tenant reads. */
    DATABASE_URL: env
      .url(['postgres', 'postgresql'])
      .default('postgres://postgres@127.0.0.1:5432/platform'),
    DB_POOL_MAX: env.int(5, 1),
    DB_CONNECT_TIMEOUT_MS: env.int(5000, 100),
    /** A managed key's look-up is believed this long: a revocation takes effect within it. */
    API_KEY_CACHE_TTL_MS: env.int(5000, 0),
    /** Keys used meanwhile get their last-used time this often, in one statement. */
    API_KEY_LAST_USED_FLUSH_MS: env.int(10_000, 100),
    /** Accepted with every scope, outside production only. */
    DEV_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
    RATE_LIMIT_PER_MINUTE: env.int(600, 1),
    STATUS_TIMEOUT_MS: env.int(1500, 50),
    BODY_LIMIT_BYTES: env.int(10 * 1024 * 1024, 1024),
    /** A recipient's streamed attachment (multipart) past this is refused as it arrives. */
    ATTACHMENT_MAX_BYTES: env.int(10 * 1024 * 1024, 1),
    /** Deepest nesting a JSON body may have. */
    MAX_JSON_DEPTH: env.int(64, 2),
    /** Proxies whose X-Forwarded-For is believed: '' (none), a hop count, or addresses/CIDRs. */
    TRUST_PROXY: z.string().default(''),
    /** The request's headers must arrive within this, and the whole request within the next. */
    HEADERS_TIMEOUT_MS: env.int(10_000, 100),
    REQUEST_TIMEOUT_MS: env.int(30_000, 100),
    /** An idle keep-alive connection is closed after this (longer than a load balancer's idle). */
    KEEP_ALIVE_TIMEOUT_MS: env.int(72_000, 100),
    /** A socket with no traffic either way for this long is closed (covers the slowest route). */
    CONNECTION_TIMEOUT_MS: env.int(120_000, 1000),
    /** On SIGTERM: readiness 503 and `Connection: close` this long before the listener closes. */
    DRAIN_DELAY_MS: env.int(5000, 0),
    /** Serialized manifest bodies kept per replica, by entity tag (eFolder's poll path). */
    MANIFEST_BODY_CACHE_MB: env.int(64, 0),
    /**
     * Gmail's Pub/Sub push: the audience its subscription puts in the OIDC token (the push URL
     * unless set otherwise there) and the service account it signs as. Unset: pushes are refused.
     */
    PUBSUB_PUSH_AUDIENCE: z.string().min(1).optional(),
    PUBSUB_PUSH_SERVICE_ACCOUNT: z.string().email().optional(),
    /** Google's certificates for its identity tokens (PEM, by key id). */
    GOOGLE_OIDC_CERTS_URL: z.string().url().default('https://www.googleapis.com/oauth2/v1/certs'),
    /** Retry-After on a 503 (a service could not be reached). */
    RETRY_AFTER_SECONDS: env.int(5, 1),
  })
  .refine((c) => c.HEADERS_TIMEOUT_MS <= c.REQUEST_TIMEOUT_MS, {
    message: 'HEADERS_TIMEOUT_MS must not exceed REQUEST_TIMEOUT_MS',
    path: ['HEADERS_TIMEOUT_MS'],
  });
export type GatewayConfig = z.infer<typeof gatewaySchema>;
