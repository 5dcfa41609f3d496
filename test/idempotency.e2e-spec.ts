import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Keyring } from '@app/crypto';
import { testServiceConfig } from '@app/testing';
import { formCopiesSchema } from '../apps/form-copies/src/config';
import { FormCopiesService } from '../apps/form-copies/src/form-copies.module';
import { hashApiKey } from '../apps/gateway/src/auth/api-keys';
import { startGateway, startService } from './harness';

/** `Idempotency-Key` on POSTs: a retried request gets the first answer and no second effect. */
const KEY = 'idempotency-test-key-0123456789';
const OTHER = 'idempotency-other-key-0123456789';
const PREFIX = 'idem.';

describe('Idempotency-Key through the gateway', () => {
  let services: NestFastifyApplication[];
  let gateway: NestFastifyApplication;
  let formId: string;

  const post = (url: string, body: object, headers: Record<string, string> = {}, key = KEY) =>
    gateway.inject({
      method: 'POST',
      url,
      headers: { 'x-api-key': key, 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(body),
    });
  const copies = async () =>
    (
      await gateway.inject({
        method: 'GET',
        url: `/api/v1/application-forms/${formId}/copies`,
        headers: { 'x-api-key': KEY },
      })
    ).json<unknown[]>().length;

  beforeAll(async () => {
    const config = testServiceConfig(
      { MESSAGING_PREFIX: PREFIX, ENCRYPTION_KEYS: `k1:${Keyring.generateKey()}` },
      formCopiesSchema,
    );
    services = await startService(FormCopiesService, config, 2);
    gateway = await startGateway({
      MESSAGING_PREFIX: PREFIX,
      DEV_API_KEY: KEY,
      API_KEYS: JSON.stringify([
        {
          id: 'other',
          sha256: hashApiKey(OTHER),
          scopes: ['copies:read', 'copies:write'],
        },
      ]),
    });
    const flag = await gateway.inject({
      method: 'PUT',
      url: '/api/v1/owners/o1/feature-flags',
      headers: { 'x-api-key': KEY, 'content-type': 'application/json' },
      payload: JSON.stringify({ copies: true }),
    });
    expect(flag.statusCode).toBe(200);
    const form = await post('/api/v1/application-forms', { ownerId: 'o1' });
    expect(form.statusCode).toBe(201);
    formId = form.json<{ applicationForm: { id: string } }>().applicationForm.id;
  });

  afterAll(async () => {
    await gateway?.close();
    for (const s of services ?? []) await s.close();
  });

  it('answers a repeat with the stored answer and makes one copy', async () => {
    const before = await copies();
    const url = `/api/v1/application-forms/${formId}/copies`;
    const first = await post(url, { title: 'Draft A' }, { 'idempotency-key': 'copy-a-1' });
    expect(first.statusCode).toBe(201);
    const again = await post(url, { title: 'Draft A' }, { 'idempotency-key': 'copy-a-1' });
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.headers.etag).toBe(first.headers.etag);
    expect(again.headers.location).toBe(first.headers.location);
    expect(await copies()).toBe(before + 1);
    // Without a key, each POST is a request of its own.
    await post(url, { title: 'Draft A' });
    expect(await copies()).toBe(before + 2);
  });

  it('refuses the same key with another body (or route) with 422', async () => {
    const url = `/api/v1/application-forms/${formId}/copies`;
    expect((await post(url, { title: 'B' }, { 'idempotency-key': 'copy-b' })).statusCode).toBe(201);
    const before = await copies();
    const other = await post(url, { title: 'C' }, { 'idempotency-key': 'copy-b' });
    expect(other.statusCode).toBe(422);
    expect(other.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(other.json<{ detail: string }>().detail).toContain('Idempotency-Key');
    expect(await copies()).toBe(before);
    // Keys are per caller: another caller's equal key is another request.
    expect(
      (await post(url, { title: 'B' }, { 'idempotency-key': 'copy-b' }, OTHER)).statusCode,
    ).toBe(201);
    expect(await copies()).toBe(before + 1);
    // A key that is not visible ASCII is a 400.
    expect((await post(url, {}, { 'idempotency-key': 'a b' })).statusCode).toBe(400);
  });

  it('makes one copy for concurrent duplicates on two replicas', async () => {
    const before = await copies();
    const url = `/api/v1/application-forms/${formId}/copies`;
    const answers = await Promise.all(
      Array.from({ length: 12 }, () =>
        post(url, { title: 'Concurrent' }, { 'idempotency-key': 'copy-concurrent' }),
      ),
    );
    const ok = answers.filter((a) => a.statusCode === 201);
    // Every one either got the copy or was told to ask again; none made a second copy.
    for (const a of answers) expect([201, 409]).toContain(a.statusCode);
    expect(ok.length).toBeGreaterThan(0);
    expect(new Set(ok.map((a) => a.json<{ id: string }>().id)).size).toBe(1);
    expect(await copies()).toBe(before + 1);
  });
});
