import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { ServiceName } from '@app/contracts';
import { benchDatabase } from './database';
import { startApp, waitOk } from './load';

export interface Stack {
  service: ChildProcess;
  gateway: ChildProcess;
  /** The gateway's development key (all scopes). */
  key: string;
  gatewayUrl: string;
  stop(): Promise<void>;
}

/**
 * One service and the gateway as separate processes, as in production, on queues of the
 * bench's own (a prefix), ready when this resolves.
 */
export async function startStack(o: {
  service: ServiceName;
  databaseUrl: string;
  ports: { service: number; gateway: number };
  serviceEnv?: NodeJS.ProcessEnv;
  gatewayEnv?: NodeJS.ProcessEnv;
  key?: string;
}): Promise<Stack> {
  const dist = join(__dirname, '..', '..');
  const key = o.key ?? `bench-key-${process.pid}-${Date.now()}`;
  const common = {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    RABBITMQ_URL: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    MESSAGING_PREFIX: `bench${process.pid}.`,
  };
  const service = startApp(join(dist, `apps/${o.service}/src/main.js`), {
    ...common,
    DATABASE_URL: o.databaseUrl,
    HEALTH_PORT: String(o.ports.service),
    ...o.serviceEnv,
  });
  const gateway = startApp(join(dist, 'apps/gateway/src/main.js'), {
    ...common,
    NODE_ENV: 'development',
    PORT: String(o.ports.gateway),
    // Its own schema is not migrated here: the bench's key is the development key.
    DATABASE_URL: o.databaseUrl,
    DEV_API_KEY: key,
    RATE_LIMIT_PER_MINUTE: '100000000',
    ...o.gatewayEnv,
  });
  const stop = async () => {
    service.kill('SIGTERM');
    gateway.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
  };
  try {
    await waitOk(`http://127.0.0.1:${o.ports.service}/health/ready`);
    await waitOk(`http://127.0.0.1:${o.ports.gateway}/health/ready`);
  } catch (err) {
    await stop();
    throw err;
  }
  return { service, gateway, key, gatewayUrl: `http://127.0.0.1:${o.ports.gateway}`, stop };
}

/** A bench's own database for one service, and that service with the gateway over it. */
export async function withStack(
  tag: string,
  o: Omit<Parameters<typeof startStack>[0], 'databaseUrl'>,
  run: (stack: Stack, databaseUrl: string) => Promise<void>,
): Promise<void> {
  const database = await benchDatabase(tag, o.service);
  let stack: Stack | undefined;
  try {
    stack = await startStack({ ...o, databaseUrl: database.url });
    await run(stack, database.url);
  } finally {
    await stack?.stop();
    await database.drop();
  }
}

/** Runs a bench's main, reporting a failure as one line and a non-zero exit. */
export function runBench(main: () => Promise<void>): void {
  main().catch((err: Error) => {
    console.error(`bench failed: ${err.message}`);
    process.exit(1);
  });
}
