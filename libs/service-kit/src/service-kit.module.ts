import {
  type BeforeApplicationShutdown,
  Controller,
  type DynamicModule,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type Type,
} from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { TerminusModule } from '@nestjs/terminus';
import { getDataSourceToken, TypeOrmModule } from '@nestjs/typeorm';
import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';
import { rpcPatterns, schemaOf, type ServiceName } from '@app/contracts';
import { serviceSchema, type ServiceConfig } from '@app/config';
import type { z } from 'zod';
import { migrationState, serviceDataSourceOptions } from '@app/database';
import {
  BrokerHealthIndicator,
  createHealthController,
  HEALTH_PROBES,
  type HealthProbes,
  METRICS_REGISTRY,
  MetricsController,
} from '@app/health';
import {
  type AnswerCodecs,
  EventBus,
  Outbox,
  OutboxRelay,
  type ReliableRmqServer,
  RpcRequestLog,
  RpcRequestSubscriber,
} from '@app/messaging';
import {
  createMessagingMetrics,
  registerMessagingGauges,
  createMetricsRegistry,
  type MessagingMetrics,
} from '@app/observability';
import { StatusService } from './status.service';
import {
  LOGGER,
  MESSAGING_METRICS,
  SERVICE_CONFIG,
  SERVICE_INFO,
  type ServiceInfo,
} from './tokens';
import { platformVersion } from './version';

/** The scrape-time outbox and dead-letter gauges, registered once the database and bus exist. */
const MESSAGING_GAUGES = Symbol('MESSAGING_GAUGES');

export interface ServiceDefinition {
  service: ServiceName;
  /** The service's committed migrations, in order. */
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: Function[];
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: Function[];
  /** The service's feature modules. */
  imports: Array<Type<unknown> | DynamicModule>;
  /** Variables the service reads beyond the shared ones, validated at boot with them. */
  configSchema?: z.AnyZodObject;
  /** How write answers that hold secrets are kept for repeats (see AnswerCodec). */
  answerCodecs?: (config: ServiceConfig) => AnswerCodecs;
}

/** The whole schema a service's environment must satisfy. */
export function serviceConfigSchema(def: ServiceDefinition): z.ZodType<ServiceConfig> {
  return (def.configSchema
    ? serviceSchema.merge(def.configSchema)
    : serviceSchema) as unknown as z.ZodType<ServiceConfig>;
}

/** Set by bootstrap once the RPC server exists, so readiness can read its connection. */
@Injectable()
export class RpcServerRef {
  server?: ReliableRmqServer;
}

/** Starts consuming and relaying once the app is up; drains both before the database closes. */
@Injectable()
class MessagingLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(
    private readonly bus: EventBus,
    private readonly relay: OutboxRelay,
  ) {}
  async onApplicationBootstrap(): Promise<void> {
    this.relay.start();
    await this.bus.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.bus.close();
  }
}

/** Forgets handled requests after RPC_REQUEST_RETENTION_HOURS, on every replica (idempotent). */
@Injectable()
class RpcRequestRetention implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private timer?: NodeJS.Timeout;
  constructor(
    private readonly log: RpcRequestLog,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}
  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.log
        .purge(this.config.RPC_REQUEST_RETENTION_HOURS)
        .catch((err: unknown) => this.logger.warn({ err }, 'rpc request purge failed'));
    }, 3600_000);
    this.timer.unref();
  }
  beforeApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

function createStatusController(service: ServiceName): Type<unknown> {
  @Controller()
  class StatusController {
    constructor(private readonly status: StatusService) {}

    @MessagePattern(rpcPatterns.status(service))
    get() {
      return this.status.status();
    }

    @MessagePattern(rpcPatterns.outboxEvent(service))
    outboxEvent(@Payload() req: { id?: unknown } | null) {
      return this.status.outboxEvent(req?.id);
    }
  }
  return StatusController;
}

/**
 * Everything a domain service shares: config, logs, metrics, its DataSource on its own
 * schema, the event bus with outbox and inbox, health and status. A service adds only its
 * feature modules and migrations.
 */
export class ServiceKitModule {
  static forService(def: ServiceDefinition, config: ServiceConfig, logger: Logger): DynamicModule {
    const schema = schemaOf(def.service);
    const registry = createMetricsRegistry(def.service, {
      version: platformVersion(),
      commit: process.env.GIT_COMMIT,
    });
    const info: ServiceInfo = {
      service: def.service,
      schema,
      version: platformVersion(),
      startedAt: new Date(),
    };
    return {
      module: ServiceKitModule,
      global: true,
      imports: [
        TerminusModule.forRoot({ logger: false }),
        TypeOrmModule.forRoot({
          ...serviceDataSourceOptions({
            url: config.DATABASE_URL,
            schema,
            applicationName: def.service,
            entities: def.entities,
            migrations: def.migrations,
            poolMax: config.DB_POOL_MAX,
            connectTimeoutMs: config.DB_CONNECT_TIMEOUT_MS,
            statementTimeoutMs: config.DB_STATEMENT_TIMEOUT_MS,
            // Every write RPC's first transaction records its request id (one effect per request).
            subscribers: [RpcRequestSubscriber],
          }),
          retryAttempts: 30,
          retryDelay: 2000,
        }),
        ...def.imports,
      ],
      controllers: [
        createHealthController(),
        MetricsController,
        createStatusController(def.service),
      ],
      providers: [
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: SERVICE_INFO, useValue: info },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS_REGISTRY, useValue: registry },
        { provide: MESSAGING_METRICS, useValue: createMessagingMetrics(registry) },
        {
          provide: EventBus,
          inject: [MESSAGING_METRICS],
          useFactory: (metrics: MessagingMetrics) =>
            new EventBus({
              url: config.RABBITMQ_URL,
              consumer: def.service,
              prefix: config.MESSAGING_PREFIX,
              prefetch: config.EVENT_PREFETCH,
              maxAttempts: config.EVENT_MAX_ATTEMPTS,
              retryDelaysMs: config.EVENT_RETRY_DELAYS_MS,
              shutdownGraceMs: config.SHUTDOWN_GRACE_MS,
              logger,
              metrics,
            }),
        },
        { provide: Outbox, useValue: new Outbox(schema) },
        {
          provide: OutboxRelay,
          inject: [getDataSourceToken(), EventBus, MESSAGING_METRICS],
          useFactory: (ds: DataSource, bus: EventBus, metrics: MessagingMetrics) =>
            new OutboxRelay(ds, (e) => bus.publish(e), {
              schema,
              databaseUrl: config.DATABASE_URL,
              pollMs: config.OUTBOX_POLL_MS,
              logger,
              metrics,
            }),
        },
        {
          provide: RpcRequestLog,
          inject: [getDataSourceToken()],
          useFactory: (ds: DataSource) => new RpcRequestLog(ds),
        },
        RpcRequestRetention,
        RpcServerRef,
        {
          provide: MESSAGING_GAUGES,
          inject: [getDataSourceToken(), EventBus],
          useFactory: (ds: DataSource, bus: EventBus) =>
            registerMessagingGauges(registry, {
              outbox: async () => {
                const [r] = await ds.query<Array<{ pending: number; age: number }>>(
                  `SELECT count(*)::int AS pending,
                          coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age
                     FROM outbox WHERE published_at IS NULL`,
                );
                return { pending: r.pending, oldestAgeSeconds: r.age };
              },
              deadLetters: () => bus.deadLetterDepth(),
            }),
        },
        {
          provide: HEALTH_PROBES,
          inject: [EventBus, RpcServerRef, getDataSourceToken()],
          useFactory: (bus: EventBus, ref: RpcServerRef, ds: DataSource): HealthProbes => ({
            database: true,
            timeoutMs: 1500,
            pendingMigrations: async () => (await migrationState(ds)).pending,
            broker: [
              { name: 'rpc', isConnected: () => ref.server?.isConnected() ?? false },
              { name: 'events', isConnected: () => bus.isConnected() },
            ],
          }),
        },
        BrokerHealthIndicator,
        StatusService,
        MessagingLifecycle,
      ],
      exports: [
        SERVICE_CONFIG,
        SERVICE_INFO,
        LOGGER,
        METRICS_REGISTRY,
        MESSAGING_METRICS,
        EventBus,
        Outbox,
        OutboxRelay,
        RpcRequestLog,
      ],
    };
  }
}
