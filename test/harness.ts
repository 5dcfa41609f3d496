import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@app/config';
import { runServiceMigrations } from '@app/database';
import { createServiceApp, serviceDataSource, type ServiceDefinition } from '@app/service-kit';
import type { ServiceConfig } from '@app/config';
import { eventually, lighthouseClientKeys, testEnv, testServiceConfig } from '@app/testing';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyZodObject } from 'zod';
import { extractionSchema } from '../apps/extraction/src/config';
import { ExtractionService } from '../apps/extraction/src/extraction.module';
import { formCopiesSchema } from '../apps/form-copies/src/config';
import { FormCopiesService } from '../apps/form-copies/src/form-copies.module';
import { manifestCacheSchema } from '../apps/manifest-cache/src/config';
import { ManifestCacheService } from '../apps/manifest-cache/src/manifest-cache.module';
import { pdfWorkflowSchema } from '../apps/pdf-workflow/src/config';
import { PdfWorkflowService } from '../apps/pdf-workflow/src/pdf-workflow.module';
import { uploadStatusSchema } from '../apps/upload-status/src/config';
import { UploadStatusService } from '../apps/upload-status/src/upload-status.module';
import { createGatewayApp } from '../apps/gateway/src/app';
import { gatewaySchema } from '../apps/gateway/src/config';
import { gatewayDataSource } from '../apps/gateway/src/database/data-source';
import { GatewayDatabase } from '../apps/gateway/src/database/gateway-database';
import { createUpstreamSim } from '../apps/upstream-sim/src/sim';

/** Migrates the service's schema in this run's database, then starts `instances` replicas. */
export async function startService(
  def: ServiceDefinition,
  config: ServiceConfig,
  instances = 1,
): Promise<NestFastifyApplication[]> {
  const ds = serviceDataSource(def, config);
  await ds.initialize();
  try {
    await runServiceMigrations(ds);
  } finally {
    await ds.destroy();
  }
  const apps: NestFastifyApplication[] = [];
  for (let i = 0; i < instances; i++) apps.push(await createServiceApp(def, config));
  return apps;
}

/** Migrates the gateway's schema in this run's database. */
export async function migrateGateway(): Promise<void> {
  const ds = gatewayDataSource(
    { DATABASE_URL: testEnv().databaseUrl, DB_POOL_MAX: 2, DB_CONNECT_TIMEOUT_MS: 5000 },
    'gateway-migrate',
  );
  await ds.initialize();
  try {
    await runServiceMigrations(ds);
  } finally {
    await ds.destroy();
  }
}

/**
 * A gateway on this run's vhost and database, ready for `inject` (its key store
 * connected), with the given settings on top.
 */
export async function startGateway(env: Record<string, string>): Promise<NestFastifyApplication> {
  await migrateGateway();
  const gateway = await createGatewayApp(
    loadConfig(gatewaySchema, {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RABBITMQ_URL: testEnv().rabbitUrl,
      DATABASE_URL: testEnv().databaseUrl,
      RATE_LIMIT_PER_MINUTE: '100000',
      ...env,
    }),
  );
  await gateway.init();
  await gateway.getHttpAdapter().getInstance().ready();
  const db = gateway.get(GatewayDatabase);
  await eventually(() => {
    if (!db.ds.isInitialized) throw new Error('gateway database not connected yet');
  });
  return gateway;
}

/** The upstream simulators (VBMS, VVA, BGS, Lighthouse, notifications, Google) on a free port. */
export async function startSim() {
  const sim = createUpstreamSim();
  // The tests' Lighthouse client, registered as it would be with Okta.
  sim.lighthouse.registerClient('dev-client', lighthouseClientKeys().publicKeyPem);
  await sim.app.listen({ port: 0, host: '127.0.0.1' });
  return { ...sim, url: `http://127.0.0.1:${(sim.app.server.address() as { port: number }).port}` };
}

/** manifest-cache's upstreams, all on the simulators. */
export function efolderUpstreams(simUrl: string): Record<string, string> {
  return {
    CLAIM_EVIDENCE_URL: `${simUrl}/ce`,
    VBMS_URL: `${simUrl}/vbms`,
    VVA_URL: `${simUrl}/vva`,
    BGS_URL: `${simUrl}/bgs`,
  };
}

/**
 * manifest-cache (as many replicas as asked) on the simulators, with a gateway and a blob
 * store of their own, on one messaging prefix.
 */
export async function startManifestCache(
  prefix: string,
  key: string,
  over: Record<string, string> = {},
  replicas = 1,
) {
  const sim = await startSim();
  const storageRoot = await mkdtemp(join(tmpdir(), 'mc-storage-'));
  const config = testServiceConfig(
    {
      MESSAGING_PREFIX: prefix,
      ...efolderUpstreams(sim.url),
      STORAGE_ROOT: storageRoot,
      OUTBOX_POLL_MS: '100',
      ...over,
    },
    manifestCacheSchema,
  );
  const services = await startService(ManifestCacheService, config, replicas);
  const gateway = await startGateway({
    MESSAGING_PREFIX: prefix,
    DEV_API_KEY: key,
    STORAGE_ROOT: storageRoot,
  });
  return {
    sim,
    services,
    gateway,
    async close() {
      await gateway.close();
      for (const s of services) await s.close();
      await sim.app.close();
      await rm(storageRoot, { recursive: true, force: true });
    },
  };
}

/** Every service (one replica each), the simulators and a gateway, on one messaging prefix. */
export async function startPlatform(
  prefix: string,
  over: { services?: Record<string, string>; gateway?: Record<string, string> } = {},
) {
  const sim = await startSim();
  const storageRoot = await mkdtemp(join(tmpdir(), 'platform-storage-'));
  const common = { MESSAGING_PREFIX: prefix, STORAGE_ROOT: storageRoot, ...over.services };
  const key = () => `k1:${randomBytes(32).toString('base64')}`;
  const defs: Array<[ServiceDefinition, Record<string, string>, AnyZodObject]> = [
    [ManifestCacheService, efolderUpstreams(sim.url), manifestCacheSchema],
    [
      UploadStatusService,
      {
        LIGHTHOUSE_URL: `${sim.url}/lighthouse`,
        LIGHTHOUSE_PRIVATE_KEY: lighthouseClientKeys().privateKeyPem,
        POLLER_ENABLED: 'false',
      },
      uploadStatusSchema,
    ],
    [FormCopiesService, { ENCRYPTION_KEYS: key() }, formCopiesSchema],
    [
      PdfWorkflowService,
      {
        NOTIFY_URL: `${sim.url}/notify`,
        LINK_SECRET: 'a-test-link-secret-of-at-least-32-characters',
        JOBS_ENABLED: 'false',
      },
      pdfWorkflowSchema,
    ],
    [
      ExtractionService,
      {
        GOOGLE_AUTH_URL: `${sim.url}/google/o/oauth2/v2/auth`,
        GOOGLE_OAUTH_URL: `${sim.url}/google/oauth2`,
        GOOGLE_API_URL: `${sim.url}/google`,
        OAUTH_STATE_SECRET: 'a-test-oauth-state-secret-of-32-chars!',
        ENCRYPTION_KEYS: key(),
        JOBS_ENABLED: 'false',
      },
      extractionSchema,
    ],
  ];
  const services: NestFastifyApplication[] = [];
  for (const [def, env, schema] of defs)
    services.push(...(await startService(def, testServiceConfig({ ...common, ...env }, schema))));
  const gateway = await startGateway({
    MESSAGING_PREFIX: prefix,
    STORAGE_ROOT: storageRoot,
    ...over.gateway,
  });
  await eventually(async () => {
    const r = await gateway.inject({ method: 'GET', url: '/health/ready' });
    if (r.statusCode !== 200) throw new Error(`gateway not ready: ${r.statusCode}`);
  });
  return {
    sim,
    services,
    gateway,
    storageRoot,
    async close() {
      await gateway.close();
      for (const s of services) await s.close();
      await sim.app.close();
      await rm(storageRoot, { recursive: true, force: true });
    },
  };
}
