import { z } from 'zod';
import { baseSchema, env } from '@app/config';
import { storageSchema } from '@app/storage';

const apiKeyEntry = z.object({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  /** Hex SHA-256 of the key; the key itself is never stored. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  scopes: z.array(z.string().min(1)).min(1),
});
export type ApiKeyEntry = z.infer<typeof apiKeyEntry>;

export const gatewaySchema = baseSchema.merge(storageSchema).extend({
  PORT: env.int(3000, 0),
  HOST: z.string().default('0.0.0.0'),
  /** JSON array of {id, sha256, scopes}; mounted from a Secret in production. */
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
  /** Accepted with every scope, outside production only. */
  DEV_API_KEY: z.string().min(16, 'must be at least 16 characters').optional(),
  RATE_LIMIT_PER_MINUTE: env.int(600, 1),
  STATUS_TIMEOUT_MS: env.int(1500, 50),
  BODY_LIMIT_BYTES: env.int(10 * 1024 * 1024, 1024),
});
export type GatewayConfig = z.infer<typeof gatewaySchema>;
