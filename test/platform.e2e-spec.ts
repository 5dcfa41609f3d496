import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig } from '@app/config';
import { runServiceMigrations } from '@app/database';
import { Outbox } from '@app/messaging';
import { createServiceApp, serviceDataSource } from '@app/service-kit';
import { eventually, TcpProxy, testEnv, testServiceConfig, viaPort } from '@app/testing';
import { createGatewayApp } from '../apps/gateway/src/app';
import { hashApiKey } from '../apps/gateway/src/auth/api-keys';
import { gatewaySchema } from '../apps/gateway/src/config';
import { ManifestCacheService } from '../apps/manifest-cache/src/manifest-cache.module';
import { migrateGateway } from './harness';

/** Collects JSON log lines written by an app. */
function logSink(): { stream: Writable; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n').filter(Boolean))
        lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { stream, lines };
}

const KEYS = {
  dev: 'dev-key-for-tests-0123456789',
  statusOnly: 'status-only-key-0123456789',
  limited: 'rate-limited-key-0123456789',
};

describe('platform through the gateway', () => {
  let service: NestFastifyApplication;
  let gateway: NestFastifyApplication;
  let pgProxy: TcpProxy;
  let amqpProxy: TcpProxy;
  let serviceUrl: string;
  const serviceLogs = logSink();

  const call = (path: string, key?: string, headers: Record<string, string> = {}) =>
    gateway.inject({
      method: 'GET',
      url: path,
      headers: { ...(key ? { 'x-api-key': key } : {}), ...headers },
    });

  beforeAll(async () => {
    const env = testEnv();
    pgProxy = TcpProxy.forUrl(env.databaseUrl);
    const pgPort = await pgProxy.start();
    amqpProxy = TcpProxy.forUrl(env.rabbitUrl);
    const amqpPort = await amqpProxy.start();

    const config = testServiceConfig({
      DATABASE_URL: viaPort(env.databaseUrl, pgPort),
      LOG_LEVEL: 'debug',
      DB_CONNECT_TIMEOUT_MS: '1000',
    });
    const ds = serviceDataSource(ManifestCacheService, config);
    await ds.initialize();
    await runServiceMigrations(ds);
    await ds.destroy();
    service = await createServiceApp(ManifestCacheService, config, serviceLogs.stream);
    serviceUrl = await service.getUrl();

    const gw = loadConfig(gatewaySchema, {
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RABBITMQ_URL: viaPort(env.rabbitUrl, amqpPort),
      DATABASE_URL: env.databaseUrl,
      DEV_API_KEY: KEYS.dev,
      API_KEYS: JSON.stringify([
        { id: 'status-only', sha256: hashApiKey(KEYS.statusOnly), scopes: ['status:read'] },
        { id: 'limited', sha256: hashApiKey(KEYS.limited), scopes: ['status:read'] },
      ]),
      RATE_LIMIT_PER_MINUTE: '20',
      STATUS_TIMEOUT_MS: '300',
    });
    await migrateGateway();
    gateway = await createGatewayApp(gw);
    await gateway.init();
    await gateway.getHttpAdapter().getInstance().ready();
    await eventually(async () => expect((await call('/health/ready')).statusCode).toBe(200));
  });

  afterAll(async () => {
    await gateway?.close();
    await service?.close();
    await pgProxy?.stop();
    await amqpProxy?.stop();
  });

  it('answers health without a key, and nothing else', async () => {
    expect((await call('/health/live')).statusCode).toBe(200);
    for (const path of ['/api/v1/status', '/docs', '/metrics']) {
      const res = await call(path);
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toContain('application/problem+json');
      expect(res.json()).toMatchObject({ status: 401, type: 'urn:problem-type:unauthorized' });
    }
    expect((await call('/api/v1/status', 'wrong-key-0000000000')).statusCode).toBe(401);
  });

  it('reports the running service up and the others down, with the caller correlation id in its logs', async () => {
    const res = await call('/api/v1/status', KEYS.statusOnly, {
      'x-correlation-id': 'trace-me-42',
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-correlation-id']).toBe('trace-me-42');
    const body = res.json<{ status: string; services: Array<Record<string, unknown>> }>();
    expect(body.status).toBe('degraded');
    const mc = body.services.find((s) => s.service === 'manifest-cache');
    expect(mc).toMatchObject({
      status: 'up',
      database: { reachable: true, schema: 'manifest_cache' },
      migrations: { applied: ManifestCacheService.migrations.map((m) => m.name), pending: [] },
      broker: { connected: true },
    });
    const others = body.services.filter((s) => s.service !== 'manifest-cache');
    expect(others).toHaveLength(4);
    for (const o of others) {
      expect(o.status).toBe('down');
      expect(String(o.error)).toContain('did not answer');
    }
    await eventually(() =>
      expect(serviceLogs.lines).toContainEqual(
        expect.objectContaining({
          correlationId: 'trace-me-42',
          pattern: 'manifest-cache.status.get.v1',
          msg: 'rpc handled',
        }),
      ),
    );
  });

  it('refuses a key without the route scope', async () => {
    const res = await call(
      `/api/v1/services/manifest-cache/outbox-events/${randomUUID()}`,
      KEYS.statusOnly,
    );
    expect(res.statusCode).toBe(403);
    expect(res.json<{ detail: string }>().detail).toContain('ops:read');
  });

  it('looks up an outbox event by id through RabbitMQ and Postgres', async () => {
    const ds = serviceDataSource(ManifestCacheService, testServiceConfig());
    await ds.initialize();
    const id = await ds.transaction((m) =>
      new Outbox('manifest_cache').add(m, 'platform.service.started.v1', {
        service: 'manifest-cache',
        version: 't',
        startedAt: new Date().toISOString(),
      }),
    );
    await ds.destroy();
    const res = await call(`/api/v1/services/manifest-cache/outbox-events/${id}`, KEYS.dev);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      id,
      eventName: 'platform.service.started.v1',
      attempts: expect.any(Number),
    });

    const missing = await call(
      `/api/v1/services/manifest-cache/outbox-events/${randomUUID()}`,
      KEYS.dev,
    );
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toContain('application/problem+json');
  });

  it('names the bad fields of a bad request', async () => {
    const res = await call('/api/v1/services/no-such-service/outbox-events/not-a-uuid', KEYS.dev);
    expect(res.statusCode).toBe(400);
    const body = res.json<{ type: string; errors: Array<{ field: string }> }>();
    expect(body.type).toBe('urn:problem-type:validation_failed');
    expect(body.errors.map((e) => e.field).sort()).toEqual(['id', 'service']);
  });

  it('serves OpenAPI and metrics to a key that may see them', async () => {
    const doc = await call('/docs/openapi.json', KEYS.dev);
    expect(doc.statusCode).toBe(200);
    expect(Object.keys(doc.json<{ paths: object }>().paths)).toContain('/api/v1/status');
    expect((await call('/metrics', KEYS.statusOnly)).statusCode).toBe(403);
    const metrics = await call('/metrics', KEYS.dev);
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('process_cpu_user_seconds_total');
  });

  it('limits requests per key, never health probes', async () => {
    for (let i = 0; i < 25; i++) expect((await call('/health/live')).statusCode).toBe(200);
    const codes: number[] = [];
    for (let i = 0; i < 21; i++) {
      const r = await call('/api/v1/status', KEYS.limited);
      codes.push(r.statusCode);
    }
    expect(codes.slice(0, 20).every((c) => c === 200)).toBe(true);
    expect(codes[20]).toBe(429);
    const limited = await call('/api/v1/status', KEYS.limited);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['content-type']).toContain('application/problem+json');
    expect(limited.headers['retry-after']).toBeDefined();
    // Another key is not affected.
    expect((await call('/api/v1/status', KEYS.statusOnly)).statusCode).toBe(200);
  });

  it('turns not ready when Postgres goes away and ready again when it returns', async () => {
    const ready = () => fetch(`${serviceUrl}/health/ready`).then((r) => r.status);
    expect(await ready()).toBe(200);
    await pgProxy.cut();
    await eventually(async () => expect(await ready()).toBe(503), 20000, 200);
    const status = await call('/api/v1/status', KEYS.dev);
    const mc = status
      .json<{ services: Array<Record<string, unknown>> }>()
      .services.find((s) => s.service === 'manifest-cache');
    expect(mc).toMatchObject({ status: 'degraded', database: { reachable: false } });
    await pgProxy.restore();
    await eventually(async () => expect(await ready()).toBe(200), 20000, 200);
  });

  it('reports the broker gone from the gateway at once and recovers without a restart', async () => {
    await amqpProxy.cut();
    await eventually(async () => expect((await call('/health/ready')).statusCode).toBe(503));
    const res = await call('/api/v1/status', KEYS.dev);
    expect(res.statusCode).toBe(200);
    const body = res.json<{
      gateway: { broker: { connected: boolean } };
      services: Array<{ status: string; error: string }>;
    }>();
    expect(body.gateway.broker.connected).toBe(false);
    expect(body.services.every((s) => s.status === 'down')).toBe(true);
    expect(body.services[0].error).toContain('unreachable');
    await amqpProxy.restore();
    await eventually(
      async () => {
        const again = await call('/api/v1/status', KEYS.dev);
        const mc = again
          .json<{ services: Array<{ service: string; status: string }> }>()
          .services.find((s) => s.service === 'manifest-cache');
        expect(mc?.status).toBe('up');
      },
      30000,
      250,
    );
    expect((await call('/health/ready')).statusCode).toBe(200);
  });
});
