import { createServer } from 'node:net';
import { loadConfig, serviceSchema, type ServiceConfig } from '@app/config';
import type { AnyZodObject, z, ZodTypeAny } from 'zod';
import type { TestEnv } from './run-env';

export { rabbitmqctl, type TestEnv } from './run-env';

export function testEnv(): TestEnv {
  const raw = process.env.PLATFORM_TEST_ENV;
  if (!raw) throw new Error('integration tests need the global setup (run them through jest)');
  return JSON.parse(raw) as TestEnv;
}

/** A service config pointed at this run's database and vhost, quiet, on a free port. */
export function testServiceConfig<S extends AnyZodObject = typeof serviceSchema>(
  over: Record<string, string> = {},
  extra?: S,
): ServiceConfig & z.infer<S> {
  const t = testEnv();
  const schema = extra ? serviceSchema.merge(extra) : serviceSchema;
  return loadConfig<ZodTypeAny>(schema, {
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATABASE_URL: t.databaseUrl,
    RABBITMQ_URL: t.rabbitUrl,
    HEALTH_PORT: '0',
    SHUTDOWN_GRACE_MS: '5000',
    EVENT_RETRY_DELAYS_MS: '100,200',
    OUTBOX_POLL_MS: '200',
    ...over,
  }) as ServiceConfig & z.infer<S>;
}

/** The URL with a different host:port (to route a client through a proxy). */
export function viaPort(url: string, port: number): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(port);
  return u.toString();
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}
