import { BaseExceptionFilter, NestFactory } from '@nestjs/core';
import type { DestinationStream } from 'pino';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { rpcQueueOf, schemaOf } from '@app/contracts';
import { createServiceDataSource } from '@app/database';
import { loadConfig, serviceSchema, type ServiceConfig } from '@app/config';
import { ReliableRmqServer, RpcErrorFilter, RpcRequestLog, WriteOnce } from '@app/messaging';
import { createLogger, JsonLogger, type MessagingMetrics, setupTracing } from '@app/observability';
import {
  RpcServerRef,
  serviceConfigSchema,
  ServiceKitModule,
  type ServiceDefinition,
} from './service-kit.module';
import { MESSAGING_METRICS } from './tokens';

/**
 * Builds and starts a service: the health/metrics HTTP port first (so liveness answers
 * while the broker is still unreachable), then the RPC consumer.
 */
export async function createServiceApp(
  def: ServiceDefinition,
  config: ServiceConfig,
  logDestination?: DestinationStream,
): Promise<NestFastifyApplication> {
  const logger = createLogger(def.service, config.LOG_LEVEL, logDestination);
  const app = await NestFactory.create<NestFastifyApplication>(
    ServiceKitModule.forService(def, config, logger),
    new FastifyAdapter(),
    { logger: new JsonLogger(logger) },
  );
  const server = new ReliableRmqServer({
    url: config.RABBITMQ_URL,
    queue: rpcQueueOf(def.service, config.MESSAGING_PREFIX),
    prefetch: config.RPC_PREFETCH,
    shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
    logger,
    metrics: app.get<MessagingMetrics>(MESSAGING_METRICS),
    requests: new WriteOnce(app.get(RpcRequestLog), logger, def.answerCodecs?.(config) ?? {}),
  });
  app.get(RpcServerRef).server = server;
  // Set on the app and inherited: a connected microservice takes no filters of its own.
  app.useGlobalFilters(new RpcErrorFilter(logger, new BaseExceptionFilter(app.getHttpAdapter())));
  app.connectMicroservice({ strategy: server }, { inheritAppConfig: true });
  app.enableShutdownHooks();
  await app.listen({ port: config.HEALTH_PORT, host: '0.0.0.0' });
  logger.info({ healthUrl: await app.getUrl() }, `${def.service} health and metrics listening`);
  await app.startAllMicroservices();
  logger.info(
    { queue: rpcQueueOf(def.service, config.MESSAGING_PREFIX) },
    `${def.service} consuming RPC`,
  );
  return app;
}

/** Entry point of a service process: a bad environment stops it with a clear message. */
export async function runService(def: ServiceDefinition): Promise<void> {
  // Before anything makes a span; exports only when OTEL_* configures an exporter.
  const tracing = setupTracing(def.service);
  process.once('beforeExit', () => void tracing.shutdown());
  let config: ServiceConfig;
  try {
    config = loadConfig(serviceConfigSchema(def));
  } catch (err) {
    process.stderr.write(`${def.service}: ${(err as Error).message}\n`);
    process.exit(78); // EX_CONFIG
  }
  await createServiceApp(def, config);
}

/** The service's DataSource outside Nest: for the migration command and the TypeORM CLI. */
export function serviceDataSource(
  def: ServiceDefinition,
  config: ServiceConfig = loadConfig(serviceSchema),
) {
  return createServiceDataSource({
    url: config.DATABASE_URL,
    schema: schemaOf(def.service),
    applicationName: `${def.service}-migrate`,
    entities: def.entities,
    migrations: def.migrations,
    poolMax: 2,
    connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
    // DDL on a big table may take longer than a request may.
    statementTimeoutMs: 10 * 60 * 1000,
  });
}
