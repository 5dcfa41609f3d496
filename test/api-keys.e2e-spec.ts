import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createServiceDataSource } from '@app/database';
import { eventually, sleep, testEnv } from '@app/testing';
import { hashApiKey } from '../apps/gateway/src/auth/api-keys';
import { GatewayDatabase } from '../apps/gateway/src/database/gateway-database';
import { startGateway } from './harness';

const BOOT = 'bootstrap-operator-key-0123456789';
const TTL_MS = 300;

interface KeyAnswer {
  key: string;
  id: string;
  prefix: string;
  tenantId: string;
  callerId: string;
  scopes: string[];
  live: boolean;
  lastUsedAt: string | null;
  expiresAt: string | null;
  replaced?: { id: string; expiresAt: string };
}

/** One statement against the gateway's schema, as an operator at the database would. */
async function sql<T = unknown>(text: string, params: unknown[]): Promise<T> {
  const ds = createServiceDataSource({
    url: testEnv().databaseUrl,
    schema: 'gateway',
    applicationName: 'ak-test',
  });
  await ds.initialize();
  try {
    return await ds.query<T>(text, params);
  } finally {
    await ds.destroy();
  }
}

/** Managed keys on two gateway replicas sharing one schema. */
describe('managed API keys', () => {
  let one: NestFastifyApplication;
  let two: NestFastifyApplication;
  const env = {
    MESSAGING_PREFIX: 'ak.',
    API_KEY_CACHE_TTL_MS: String(TTL_MS),
    API_KEY_LAST_USED_FLUSH_MS: '200',
    API_KEYS: JSON.stringify([
      { id: 'boot', sha256: hashApiKey(BOOT), scopes: ['platform:admin'], tenant: 'ops' },
    ]),
  };
  const admin = (
    gw: NestFastifyApplication,
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    payload?: object,
    key = BOOT,
  ) => gw.inject({ method, url, headers: { 'x-api-key': key }, ...(payload ? { payload } : {}) });
  /** A route with no RPC behind it: what a key can do here shows only whether it works. */
  const use = async (gw: NestFastifyApplication, key: string) =>
    (await gw.inject({ method: 'GET', url: '/metrics', headers: { 'x-api-key': key } })).statusCode;
  const create = async (over: object = {}) => {
    const r = await admin(one, 'POST', '/api/v1/admin/api-keys', {
      tenantId: 'tenant-1',
      callerId: `reporting-${Math.random().toString(36).slice(2, 8)}`,
      scopes: ['metrics:read'],
      ...over,
    });
    expect(r.statusCode).toBe(201);
    return r.json<KeyAnswer>();
  };

  beforeAll(async () => {
    one = await startGateway(env);
    two = await startGateway(env);
  });

  afterAll(async () => {
    await one?.close();
    await two?.close();
  });

  it('creates a key shown once, stored as a hash, usable on every replica, its use recorded', async () => {
    const k = await create();
    expect(k.key).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
    expect(k.prefix).toBe(k.key.slice(0, 11));
    expect(k).toMatchObject({ tenantId: 'tenant-1', scopes: ['metrics:read'], live: true });
    expect(await use(two, k.key)).toBe(200);
    const shown = await admin(two, 'GET', `/api/v1/admin/api-keys/${k.id}`);
    expect(shown.body).not.toContain(k.key);
    expect(shown.body).not.toContain(hashApiKey(k.key));
    const [row] = await sql<Array<{ sha256: string }>>(
      `SELECT encode(sha256, 'hex') AS sha256 FROM gateway.api_keys WHERE id = $1`,
      [k.id],
    );
    expect(row.sha256).toBe(hashApiKey(k.key));
    await eventually(async () => {
      const r = (await admin(one, 'GET', `/api/v1/admin/api-keys/${k.id}`)).json<KeyAnswer>();
      expect(r.lastUsedAt).not.toBeNull();
    });
    // Its scopes are exact: not an operator.
    expect((await admin(two, 'GET', '/api/v1/admin/api-keys', undefined, k.key)).statusCode).toBe(
      403,
    );
  });

  it('refuses unknown scopes and malformed tenants', async () => {
    const bogus = await admin(one, 'POST', '/api/v1/admin/api-keys', {
      tenantId: 'tenant-1',
      callerId: 'x',
      scopes: ['bogus:scope'],
    });
    expect(bogus.statusCode).toBe(400);
    expect(bogus.body).toContain('bogus:scope');
    const tenant = await admin(one, 'POST', '/api/v1/admin/api-keys', {
      tenantId: 'not a tenant',
      callerId: 'x',
      scopes: ['metrics:read'],
    });
    expect(tenant.statusCode).toBe(400);
  });

  it('takes a revocation on one replica to the other within the cache TTL', async () => {
    const k = await create();
    expect(await use(two, k.key)).toBe(200);
    const revoked = await admin(one, 'DELETE', `/api/v1/admin/api-keys/${k.id}`);
    expect(revoked.json<KeyAnswer>().live).toBe(false);
    expect(await use(one, k.key)).toBe(401);
    const at = Date.now();
    await eventually(async () => expect(await use(two, k.key)).toBe(401));
    // Within the TTL plus scheduling slack, never "until a restart".
    expect(Date.now() - at).toBeLessThan(TTL_MS * 20);
  });

  it('ends a key at its expiry, whatever the cache holds', async () => {
    const k = await create({ expiresInDays: 1 });
    expect(await use(two, k.key)).toBe(200);
    await sql(
      `UPDATE gateway.api_keys SET expires_at = now() + interval '1 second' WHERE id = $1`,
      [k.id],
    );
    await sleep(TTL_MS + 50);
    expect(await use(two, k.key)).toBe(200);
    await sleep(1100);
    expect(await use(two, k.key)).toBe(401);
  });

  it('rotates: two live keys during the change-over, never three, and the old one ends', async () => {
    const first = await create();
    const rotated = await admin(one, 'POST', `/api/v1/admin/api-keys/${first.id}/rotate`, {
      overlapSeconds: 2,
    });
    expect(rotated.statusCode).toBe(201);
    const second = rotated.json<KeyAnswer>();
    expect(second.callerId).toBe(first.callerId);
    expect(second.replaced?.id).toBe(first.id);
    expect(await use(two, first.key)).toBe(200);
    expect(await use(two, second.key)).toBe(200);
    const third = await admin(one, 'POST', '/api/v1/admin/api-keys', {
      tenantId: 'tenant-1',
      callerId: first.callerId,
      scopes: ['metrics:read'],
    });
    expect(third.statusCode).toBe(409);
    await eventually(async () => expect(await use(two, first.key)).toBe(401), 5000);
    expect(await use(two, second.key)).toBe(200);
    const list = await admin(two, 'GET', `/api/v1/admin/api-keys?callerId=${first.callerId}`);
    expect(list.json<{ data: KeyAnswer[] }>().data.map((k) => [k.id, k.live])).toEqual(
      expect.arrayContaining([
        [first.id, false],
        [second.id, true],
      ]),
    );
  });

  it('answers 503 for a managed key while its store is away, and keys from configuration still work', async () => {
    const k = await create();
    const gw = await startGateway({ ...env, API_KEY_CACHE_TTL_MS: '0' });
    try {
      expect(await use(gw, k.key)).toBe(200);
      await gw.get(GatewayDatabase).ds.destroy();
      const away = await gw.inject({
        method: 'GET',
        url: '/metrics',
        headers: { 'x-api-key': k.key },
      });
      expect(away.statusCode).toBe(503);
      expect(away.headers['content-type']).toContain('application/problem+json');
      expect((await admin(gw, 'GET', '/health/live')).statusCode).toBe(200);
      // The bootstrap key is configuration, not the store.
      const boot = await gw.inject({
        method: 'GET',
        url: '/docs/openapi.json',
        headers: { 'x-api-key': BOOT },
      });
      expect(boot.statusCode).toBe(200);
    } finally {
      await gw.close();
    }
  });
});
