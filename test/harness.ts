import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { loadConfig } from '@app/config';
import { runServiceMigrations } from '@app/database';
import { createServiceApp, serviceDataSource, type ServiceDefinition } from '@app/service-kit';
import type { ServiceConfig } from '@app/config';
import { testEnv } from '@app/testing';
import { createGatewayApp } from '../apps/gateway/src/app';
import { gatewaySchema } from '../apps/gateway/src/config';
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

/** A gateway on this run's vhost, ready for `inject`, with the given settings on top. */
export async function startGateway(env: Record<string, string>): Promise<NestFastifyApplication> {
  const gateway = await createGatewayApp(
    loadConfig(gatewaySchema, {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RABBITMQ_URL: testEnv().rabbitUrl,
      RATE_LIMIT_PER_MINUTE: '100000',
      ...env,
    }),
  );
  await gateway.init();
  await gateway.getHttpAdapter().getInstance().ready();
  return gateway;
}

/** The upstream simulators (VBMS, VVA, BGS, Lighthouse, notifications, Google) on a free port. */
export async function startSim() {
  const sim = createUpstreamSim();
  await sim.app.listen({ port: 0, host: '127.0.0.1' });
  return { ...sim, url: `http://127.0.0.1:${(sim.app.server.address() as { port: number }).port}` };
}
