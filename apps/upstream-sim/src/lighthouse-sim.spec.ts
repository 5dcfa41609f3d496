import Fastify from 'fastify';
import formbody from '@fastify/formbody';
import { importPKCS8, SignJWT } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import { registerLighthouse } from './lighthouse-sim';

/** The simulator checks what the real token endpoint and status API check. */
describe('Lighthouse simulator', () => {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const app = Fastify();
  void app.register(formbody);
  const state = registerLighthouse(app);
  state.registerClient('c1', keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());

  const assertion = async (o: { aud?: string; exp?: number; iss?: string } = {}) => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(o.iss ?? 'c1')
      .setSubject(o.iss ?? 'c1')
      .setAudience(o.aud ?? state.audience)
      .setIssuedAt(now)
      .setExpirationTime(o.exp ?? now + 300)
      .sign(await importPKCS8(pem, 'RS256'));
  };
  const token = async (a: string) =>
    app.inject({
      method: 'POST',
      url: '/lighthouse/oauth2/benefits-documents/system/v1/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'client_credentials',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: a,
        scope: 'documents.read documents.write',
      }).toString(),
    });

  afterAll(() => app.close());

  it('issues a token for a valid assertion and refuses a wrong audience, an expired one, an unknown client', async () => {
    expect((await token(await assertion())).statusCode).toBe(200);
    for (const bad of [
      await assertion({ aud: 'https://example.org/token' }),
      await assertion({ exp: Math.floor(Date.now() / 1000) - 10 }),
      await assertion({ iss: 'someone-else' }),
    ]) {
      const r = await token(bad);
      expect(r.statusCode).toBe(401);
      expect(r.json()).toMatchObject({ error: 'invalid_client' });
    }
  });

  it('wants request ids as strings, and answers the recorded 404 and 429 shapes', async () => {
    const t = (await token(await assertion())).json<{ access_token: string }>().access_token;
    const status = (ids: unknown) =>
      app.inject({
        method: 'POST',
        url: '/lighthouse/services/benefits-documents/v1/uploads/status',
        headers: { authorization: `Bearer ${t}` },
        payload: { data: { requestIds: ids } },
      });
    expect((await status([22])).statusCode).toBe(400);
    const ok = await status(['22']);
    expect(ok.statusCode).toBe(200);
    expect(ok.body).toContain('"requestId":22');
    expect(ok.headers['ratelimit-reset']).toBeDefined();
    state.config.unknown = ['5'];
    const none = await status(['5']);
    expect(none.statusCode).toBe(404);
    expect(none.json<{ errors: Array<{ detail: string }> }>().errors[0].detail).toBe(
      'Upload Request Async Status Not Found',
    );
    state.config.fault = { mode: 'rate-limit', times: 1 };
    const limited = await status(['22']);
    expect(limited.statusCode).toBe(429);
    expect(limited.headers['retry-after']).toBeUndefined();
    expect(limited.headers['ratelimit-reset']).toBe('1');
    state.config.fault = { mode: 'route-404', times: 1 };
    expect((await status(['22'])).json()).toEqual({
      message: 'no Route matched with those values',
    });
  });
});
