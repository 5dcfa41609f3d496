import Fastify, { type FastifyInstance } from 'fastify';
import { decodeJwt, importSPKI, jwtVerify } from 'jose';
import { generateKeyPairSync } from 'node:crypto';
import pino from 'pino';
import { loadConfig } from '@app/config';
import { corpusJson, describeWithCorpus } from '@app/testing';
import { uploadStatusSchema, type UploadStatusConfig } from '../config';
import { targetState } from '../uploads/state-machine';
import { LighthouseClient, LighthouseError, parseBulk, waitFromHeaders } from './lighthouse.client';

interface Recorded {
  source: string;
  request?: { form?: Record<string, string>; body?: string };
  response: { status: number; headers?: Record<string, string>; body: string };
}
interface Recording {
  token: Recorded;
  token_invalid_assertion: Recorded;
  status: Array<Recorded & { name: string }>;
}

const FILE = ['lighthouse', 'recorded.json'];
const AUDIENCE = 'https://deptva-eval.okta.com/oauth2/ausi3ui83fLa68IJv2p7/v1/token';

/**
 * Lighthouse's recorded answers (vets-api's VCR cassettes, transcribed in the corpus) replayed
 * through the real client: what the client sends, and what it makes of each answer.
 */
describeWithCorpus('Lighthouse client against recorded traffic', FILE, () => {
  const rec = corpusJson<Recording>(...FILE)!;
  const status = (name: string) => rec.status.find((s) => s.name === name)!;
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let server: FastifyInstance;
  let url: string;
  /** What the fake Lighthouse answers next, per path; and what it was sent. */
  let script: { token: Recorded[]; status: Recorded[] };
  const sent: { token: Array<Record<string, string>>; status: string[] } = {
    token: [],
    status: [],
  };
  const warnings: Array<Record<string, unknown>> = [];

  const client = (over: Record<string, string> = {}) => {
    const config: UploadStatusConfig = loadConfig(uploadStatusSchema, {
      LIGHTHOUSE_URL: url,
      LIGHTHOUSE_CLIENT_ID: '0oa-recorded-client',
      LIGHTHOUSE_PRIVATE_KEY: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      LIGHTHOUSE_MAX_ATTEMPTS: '1',
      LIGHTHOUSE_BACKOFF_MS: '1',
      ...over,
    });
    const logger = pino({ level: 'silent' });
    logger.warn = (o: Record<string, unknown>) => void warnings.push(o);
    return new LighthouseClient(config, logger, { take: async () => undefined });
  };
  const reply = (r: Recorded) => (req: unknown, res: import('fastify').FastifyReply) => {
    void res.status(r.response.status);
    for (const [k, v] of Object.entries(r.response.headers ?? {})) void res.header(k, v);
    return res.send(r.response.body);
  };

  beforeAll(async () => {
    server = Fastify();
    server.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (_r, b, done) => done(null, Object.fromEntries(new URLSearchParams(b as string))),
    );
    server.addContentTypeParser('application/json', { parseAs: 'string' }, (_r, b, done) =>
      done(null, b),
    );
    server.post('/oauth2/benefits-documents/system/v1/token', (req, res) => {
      sent.token.push(req.body as Record<string, string>);
      return reply(script.token.shift() ?? rec.token)(req, res);
    });
    server.post('/services/benefits-documents/v1/uploads/status', (req, res) => {
      sent.status.push(req.body as string);
      return reply(script.status.shift()!)(req, res);
    });
    await server.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(server.server.address() as { port: number }).port}`;
  });
  beforeEach(() => {
    script = { token: [], status: [] };
    sent.token.length = 0;
    sent.status.length = 0;
    warnings.length = 0;
  });
  afterAll(async () => server?.close());

  it('asks for a token as vets-api does: a fresh RS256 assertion, no client_id, both scopes', async () => {
    script.status.push(status('complete'));
    await client().statuses(['22']);
    const form = sent.token[0];
    expect(Object.keys(form).sort()).toEqual(
      Object.keys(rec.token.request!.form!).sort(), // grant_type, client_assertion_type, client_assertion, scope
    );
    expect(form.scope).toBe(rec.token.request!.form!.scope);
    expect(form.client_assertion_type).toBe(rec.token.request!.form!.client_assertion_type);
    const spki = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const { payload, protectedHeader } = await jwtVerify(
      form.client_assertion,
      await importSPKI(spki, 'RS256'),
      { audience: AUDIENCE, issuer: '0oa-recorded-client', subject: '0oa-recorded-client' },
    );
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.exp! - payload.iat!).toBe(300);
    expect(typeof payload.jti).toBe('string');
  });

  it('signs a new assertion for every token request (one that expired is never sent again)', async () => {
    const c = client();
    const a = decodeJwt(await c.clientAssertion(1_720_814_642));
    const b = decodeJwt(await c.clientAssertion(1_720_815_000));
    expect(a.jti).not.toBe(b.jti);
    expect(b.exp).toBe(1_720_815_300);
  });

  it('sends request ids as strings and keeps every digit of an int64 it gets back', async () => {
    const big = '9223372036854775807';
    const body = status('complete').response.body.replace('"requestId":22', `"requestId":${big}`);
    script.status.push({
      ...status('complete'),
      response: { ...status('complete').response, body },
    });
    const r = await client().statuses([big]);
    expect(JSON.parse(sent.status[0])).toEqual({ data: { requestIds: [big] } });
    expect(r.statuses[0].requestId).toBe(big);
  });

  it('reads the recorded success and failure, with their times, to completed and failed', async () => {
    script.status.push(status('complete'), status('failed'));
    const c = client();
    const ok = await c.statuses(['22']);
    expect(targetState(ok.statuses[0]).status).toBe('completed');
    expect(ok.statuses[0].startTime).toBe(1718902851802);
    expect(ok.statuses[0].endTime).toBe(1720793267285);
    const failed = await c.statuses(['16819']);
    const t = targetState(failed.statuses[0]);
    expect(t.status).toBe('failed');
    expect(t.errorDetail).toBeTruthy();
  });

  it('takes the service’s 404 as "none of these ids", and a gateway’s 404 as a failed call', async () => {
    script.status.push(status('all_not_found_404'), status('gateway_route_404'));
    const c = client();
    expect(await c.statuses(['1', '2'])).toMatchObject({ statuses: [], notFound: ['1', '2'] });
    const err = await c.statuses(['1']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LighthouseError);
    expect(err).toMatchObject({ code: '404_route', retryable: true });
  });

  it('reads ids not found beside statuses (partial)', async () => {
    script.status.push(status('partial_not_found'));
    const r = await client().statuses(['22', '23']);
    expect(r.statuses.map((s) => s.requestId)).toEqual(['22']);
    expect(r.notFound.length).toBeGreaterThan(0);
  });

  it('waits out a 429 by its Ratelimit-Reset (no Retry-After is sent), with jitter', async () => {
    const limited = status('rate_limited_429');
    expect(limited.response.headers!['retry-after']).toBeUndefined();
    expect(waitFromHeaders(new Headers(limited.response.headers))).toBe(
      Number(limited.response.headers!['ratelimit-reset']) * 1000,
    );
    expect(waitFromHeaders(new Headers({ 'retry-after': '7', 'ratelimit-reset': '33' }))).toBe(
      7000,
    );
    // Replayed with a one-second reset, to keep the test short.
    script.status.push(
      {
        ...limited,
        response: {
          ...limited.response,
          headers: { ...limited.response.headers, 'ratelimit-reset': '1' },
        },
      },
      status('complete'),
    );
    const r = await client({ LIGHTHOUSE_MAX_ATTEMPTS: '2' }).statuses(['22']);
    expect(r.statuses).toHaveLength(1);
    const wait = warnings.find((w) => w.code === '429')!.waitMs as number;
    expect(wait).toBeGreaterThanOrEqual(1000);
    expect(wait).toBeLessThanOrEqual(2000);
  });

  it('labels the recorded invalid_client as a refused assertion, not a malformed answer', async () => {
    script.token.push(rec.token_invalid_assertion);
    const err = await client()
      .statuses(['22'])
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'token_refused', retryable: false });
    expect((err as Error).message).toContain('audience claim');
  });

  it('keeps the readable entries of an answer with one unreadable entry', () => {
    const body = JSON.parse(status('complete').response.body) as {
      data: { statuses: unknown[] };
    };
    body.data.statuses.push({ requestId: 'abc', status: 7 });
    const r = parseBulk(body);
    expect(r.statuses).toHaveLength(1);
    expect(r.malformed).toBe(1);
  });
});
