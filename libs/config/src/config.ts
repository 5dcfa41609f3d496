import { z } from 'zod';

/** Raised at boot when the environment does not satisfy an app's schema. */
export class ConfigError extends Error {
  constructor(public readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

export const env = {
  bool,
  int: (def: number, min = 0) => z.coerce.number().int().min(min).default(def),
  url: (protocols: string[]) =>
    z
      .string()
      .url()
      .refine((v) => protocols.some((p) => v.startsWith(`${p}://`)), {
        message: `must start with ${protocols.map((p) => `${p}://`).join(' or ')}`,
      }),
};

/** Variables every app reads. */
export const baseSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** One broker URL, or a cluster's nodes comma-separated (connections fail over between them). */
  RABBITMQ_URL: z
    .string()
    .default('amqp://guest:guest@127.0.0.1:5672')
    .refine(
      (v) =>
        v.split(',').every((u) => {
          try {
            return /^amqps?:$/.test(new URL(u.trim()).protocol);
          } catch {
            return false;
          }
        }),
      { message: 'must be amqp:// or amqps:// URLs, comma-separated for a cluster' },
    ),
  /** Prefix for every exchange and queue name; lets test runs share a broker without colliding. */
  MESSAGING_PREFIX: z
    .string()
    .regex(/^[a-z0-9_.-]*$/, 'only lower-case letters, digits, "_", "." and "-"')
    .default(''),
  RPC_TIMEOUT_MS: env.int(5000, 50),
  SHUTDOWN_GRACE_MS: env.int(10000, 0),
});

/** Variables every service (not the gateway) reads. */
export const serviceSchema = baseSchema.extend({
  DATABASE_URL: env
    .url(['postgres', 'postgresql'])
    .default('postgres://postgres@127.0.0.1:5432/platform'),
  DB_POOL_MAX: env.int(10, 1),
  DB_CONNECT_TIMEOUT_MS: env.int(5000, 100),
  DB_STATEMENT_TIMEOUT_MS: env.int(15000, 100),
  /** Port of the small HTTP server for /health and /metrics. */
  HEALTH_PORT: env.int(0, 0),
  RPC_PREFETCH: env.int(32, 1),
  EVENT_PREFETCH: env.int(16, 1),
  EVENT_MAX_ATTEMPTS: env.int(5, 1),
  /** Comma-separated back-off steps for event retries, in milliseconds. */
  EVENT_RETRY_DELAYS_MS: z
    .string()
    .default('1000,5000,30000,120000')
    .transform((v, ctx) => {
      const steps = v.split(',').map((s) => Number(s.trim()));
      if (steps.length === 0 || steps.some((n) => !Number.isInteger(n) || n <= 0)) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'must be positive integers' });
        return z.NEVER;
      }
      return steps;
    }),
  OUTBOX_POLL_MS: env.int(500, 10),
  /** How long a handled write's request id and answer are kept (repeats within it get them). */
  RPC_REQUEST_RETENTION_HOURS: env.int(24, 1),
});

export type BaseConfig = z.infer<typeof baseSchema>;
export type ServiceConfig = z.infer<typeof serviceSchema>;

/**
 * Validates `source` against `schema`, naming every missing or bad variable at once.
 * Empty strings count as unset so that `FOO=` falls back to the default.
 */
export function loadConfig<S extends z.ZodTypeAny>(
  schema: S,
  source: NodeJS.ProcessEnv = process.env,
): z.infer<S> {
  const cleaned: Record<string, string> = {};
  for (const [k, v] of Object.entries(source)) if (v !== undefined && v !== '') cleaned[k] = v;
  const parsed = schema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => {
        const name = i.path.join('.') || '(environment)';
        const given = cleaned[name];
        return given === undefined
          ? `${name}: ${i.message === 'Required' ? 'is required but not set' : i.message}`
          : `${name}: ${i.message}`;
      }),
    );
  }
  // The defaults point at a developer's machine; in production they would quietly connect to
  // nothing (or to the wrong thing), so the real addresses must be given.
  const data = parsed.data as Record<string, unknown>;
  if (data.NODE_ENV === 'production') {
    const missing = PRODUCTION_REQUIRED.filter((k) => k in data && cleaned[k] === undefined);
    if (missing.length)
      throw new ConfigError(
        missing.map((k) => `${k}: is required when NODE_ENV=production (no local default)`),
      );
  }
  return parsed.data as z.infer<S>;
}

/** Variables whose defaults are for local use only. */
const PRODUCTION_REQUIRED = ['DATABASE_URL', 'RABBITMQ_URL'];
