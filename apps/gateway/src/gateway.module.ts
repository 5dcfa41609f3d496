import {
  Controller,
  type DynamicModule,
  Inject,
  Injectable,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { TerminusModule } from '@nestjs/terminus';
import type { Logger } from 'pino';
import { SERVICES } from '@app/contracts';
import {
  BrokerHealthIndicator,
  createHealthController,
  HEALTH_PROBES,
  type HealthProbes,
  METRICS_REGISTRY,
  MetricsController,
} from '@app/health';
import { createHttpMetrics, createMetricsRegistry } from '@app/observability';
import { LOGGER, platformVersion, SERVICE_CONFIG } from '@app/service-kit';
import { ApiKeyGuard } from './auth/api-key.guard';
import { ApiKeyStore } from './auth/api-keys';
import { RequireScopes } from './auth/decorators';
import type { GatewayConfig } from './config';
import { ProblemFilter } from './http/problem.filter';
import { OutboxEventsController } from './ops/outbox-events.controller';
import { ServicesClient } from './rpc';
import { StatusController } from './status/status.controller';
import { EfolderController } from './efolder/efolder.controller';
import { UploadsController } from './uploads/uploads.controller';
import { CopiesController } from './copies/copies.controller';
import { ExtractionController, IntegrationsController } from './extraction/extraction.controller';
import { RecipientLinksController, WorkflowsController } from './workflows/workflows.controller';
import { EfolderService } from './efolder/efolder.service';
import { ManifestBodies } from './efolder/manifest-bodies';
import { GATEWAY_STORAGE } from './storage';
import { EfolderErrorFilter } from './efolder/efolder-errors.filter';
import { createStorage } from '@app/storage';
import { StatusService } from './status/status.service';
import { DrainState } from './drain';
import { ApiKeysController } from './admin/api-keys.controller';
import { ApiKeysRepository } from './auth/api-keys.repository';
import { CrossTenantAudit } from './auth/cross-tenant-audit.interceptor';
import { ManagedKeys } from './auth/managed-keys';
import { gatewayDataSource } from './database/data-source';
import { GatewayDatabase } from './database/gateway-database';

/** Connections the gateway opens at start and closes at shutdown. */
@Injectable()
class Lifecycle implements OnModuleInit, OnApplicationShutdown {
  constructor(
    @Inject(ServicesClient) private readonly rpc: ServicesClient,
    @Inject(ManagedKeys) private readonly keys: ManagedKeys,
    @Inject(GatewayDatabase) private readonly database: GatewayDatabase,
  ) {}
  onModuleInit(): void {
    this.database.start();
  }
  async onApplicationShutdown(): Promise<void> {
    await this.keys.close();
    await this.rpc.close();
    await this.database.stop();
  }
}

/** The gateway's /metrics is behind a key like every route but health. */
@Controller('metrics')
@RequireScopes('metrics:read')
class GatewayMetricsController extends MetricsController {}

/** The gateway's HTTP and RPC-failure series. */
export const HTTP_METRICS = Symbol('HTTP_METRICS');

export class GatewayModule {
  static create(config: GatewayConfig, logger: Logger): DynamicModule {
    const rpc = new ServicesClient({
      url: config.RABBITMQ_URL,
      prefix: config.MESSAGING_PREFIX,
      timeoutMs: config.RPC_TIMEOUT_MS,
      logger,
    });
    void rpc.connect(SERVICES);
    const registry = createMetricsRegistry('gateway', {
      version: platformVersion(),
      commit: process.env.GIT_COMMIT,
    });
    const httpMetrics = createHttpMetrics(registry);
    rpc.metrics = httpMetrics;
    const drain = new DrainState();
    const database = new GatewayDatabase(gatewayDataSource(config), logger);
    const keysRepo = new ApiKeysRepository(database.ds);
    const managedKeys = new ManagedKeys(
      keysRepo,
      { ttlMs: config.API_KEY_CACHE_TTL_MS, flushMs: config.API_KEY_LAST_USED_FLUSH_MS },
      logger,
    );
    return {
      module: GatewayModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [
        createHealthController(),
        GatewayMetricsController,
        StatusController,
        OutboxEventsController,
        EfolderController,
        UploadsController,
        CopiesController,
        WorkflowsController,
        RecipientLinksController,
        ExtractionController,
        IntegrationsController,
        ApiKeysController,
      ],
      providers: [
        { provide: SERVICE_CONFIG, useValue: config },
        { provide: LOGGER, useValue: logger },
        { provide: METRICS_REGISTRY, useValue: registry },
        { provide: HTTP_METRICS, useValue: httpMetrics },
        { provide: ServicesClient, useValue: rpc },
        {
          provide: ApiKeyStore,
          useValue: new ApiKeyStore(
            config.API_KEYS,
            config.NODE_ENV === 'production' ? undefined : config.DEV_API_KEY,
          ),
        },
        { provide: DrainState, useValue: drain },
        { provide: GatewayDatabase, useValue: database },
        { provide: ApiKeysRepository, useValue: keysRepo },
        { provide: ManagedKeys, useValue: managedKeys },
        {
          provide: HEALTH_PROBES,
          useValue: {
            database: false,
            timeoutMs: 1500,
            broker: [{ name: 'rpc', isConnected: () => rpc.isConnected() }],
            draining: () => drain.draining,
          } satisfies HealthProbes,
        },
        BrokerHealthIndicator,
        StatusService,
        EfolderService,
        {
          provide: ManifestBodies,
          useValue: new ManifestBodies(config.MANIFEST_BODY_CACHE_MB * 2 ** 20),
        },
        EfolderErrorFilter,
        { provide: GATEWAY_STORAGE, useValue: createStorage(config) },
        Lifecycle,
        { provide: APP_GUARD, useClass: ApiKeyGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_INTERCEPTOR, useClass: CrossTenantAudit },
      ],
    };
  }
}
