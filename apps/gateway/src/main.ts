import 'reflect-metadata';
import { loadConfig } from '@app/config';
import { gatewaySchema, type GatewayConfig } from './config';
import type { Logger } from 'pino';
import { LOGGER } from '@app/service-kit';
import { createGatewayApp } from './app';
import { DrainState, drainOnSignals } from './drain';
import { METRICS_REGISTRY } from '@app/health';
import type { Registry } from 'prom-client';
import { startMetricsServer } from './metrics-server';
import { setupTracing } from '@app/observability';

async function main(): Promise<void> {
  const tracing = setupTracing('gateway');
  process.once('beforeExit', () => void tracing.shutdown());
  let config: GatewayConfig;
  try {
    config = loadConfig(gatewaySchema);
  } catch (err) {
    process.stderr.write(`gateway: ${(err as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
  const app = await createGatewayApp(config);
  drainOnSignals(app, app.get(DrainState), {
    drainDelayMs: config.DRAIN_DELAY_MS,
    graceMs: config.SHUTDOWN_GRACE_MS,
    logger: app.get<Logger>(LOGGER),
  });
  await app.listen({ port: config.PORT, host: config.HOST });
  if (config.METRICS_PORT > 0) {
    const metrics = startMetricsServer(
      app.get<Registry>(METRICS_REGISTRY),
      config.METRICS_PORT,
      config.HOST,
    );
    process.once('SIGTERM', () => metrics.close());
  }
}

void main();
