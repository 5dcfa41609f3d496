import type { FastifyInstance, FastifyReply } from 'fastify';
import { decodeJwt, importSPKI, jwtVerify, type KeyLike } from 'jose';
import { randomBytes } from 'node:crypto';

/**
 * A simulator of Lighthouse Benefits Documents' status API: client-credentials tokens
 * (600 s) for RS256 client assertions it verifies as Okta does (signature with the client's
 * registered public key, iss = sub = client id, aud, exp), the bulk status endpoint with its
 * contract (millisecond times, string request ids in, `requestIdsNotFound`, the not-found 404,
 * 413 past its size limit, 429 past its rate with `Ratelimit-*` headers and no Retry-After),
 * documents moving through the steps over time, and switchable failures (a gateway 404).
 *
 * Bodies and headers are the recorded ones: vets-api spec/support/vcr_cassettes/lighthouse/
 * (benefits_claims/documents/form526_document_upload_status_*.yml and
 * auth/client_credentials/invalid_assertion_401.yml), transcribed in the project's test corpus
 * (lighthouse/recorded.json).
 */

/** vets-api auth/client_credentials/invalid_assertion_401.yml */
const INVALID_CLIENT = {
  error: 'invalid_client',
  error_description:
    'The audience claim for client_assertion must be the endpoint invoked for the request.',
};
/** vets-api ...form526_document_upload_status_not_found.yml (the service's own 404). */
const NOT_FOUND_BODY = () => ({
  errors: [
    {
      detail: 'Upload Request Async Status Not Found',
      status: 404,
      title: 'Not Found',
      instance: randomBytes(16).toString('hex'),
      diagnostics: randomBytes(18).toString('base64'),
    },
  ],
});
/** The API gateway's own 404, recorded when a route does not match. */
const ROUTE_404 = { message: 'no Route matched with those values' };
/** The API gateway's 429 (recorded): Ratelimit-* headers, no Retry-After. */
const RATE_LIMITED = { message: 'API rate limit exceeded' };

function rateHeaders(reply: FastifyReply, limit: number, used: number, resetSeconds: number) {
  return reply
    .header('x-ratelimit-limit-minute', String(limit))
    .header('x-ratelimit-remaining-minute', String(Math.max(limit - used, 0)))
    .header('ratelimit-limit', String(limit))
    .header('ratelimit-remaining', String(Math.max(limit - used, 0)))
    .header('ratelimit-reset', String(resetSeconds));
}
export const STEPS = ['CLAIMS_EVIDENCE', 'BENEFITS_GATEWAY_SERVICE', 'REMOVE_FILE_BINARY'] as const;

export interface LighthouseOutcome {
  /** Fail when the document reaches this step. */
  failAt?: (typeof STEPS)[number];
  /** Never start a step. */
  stuck?: boolean;
  /** Finish without an end time (Lighthouse does this). */
  noEndTime?: boolean;
}

export interface LighthouseSimConfig {
  stepMs: number;
  /**
   * `time`: a document moves one step every `stepMs`; `poll`: one step each time its status
   * is asked (for tests that must not depend on how fast a loaded machine polls).
   */
  stepEvery?: 'time' | 'poll';
  rateLimitPerMinute: number;
  maxIds: number;
  autoKnown: boolean;
  fault: {
    mode: 'none' | 'error' | 'slow' | 'malformed' | 'rate-limit' | 'route-404';
    status?: number;
    delayMs?: number;
    times?: number;
  };
  unknown: string[];
  outcomes: Record<string, LighthouseOutcome>;
  /** Ids added to every answer although nobody asked for them. */
  extraIds: string[];
}

export class LighthouseState {
  config: LighthouseSimConfig = LighthouseState.defaults();
  /** The audience a client assertion must name (Okta's token URL). */
  audience = 'https://deptva-eval.okta.com/oauth2/ausi3ui83fLa68IJv2p7/v1/token';
  /** Clients registered with their public keys, as with Okta. */
  readonly clients = new Map<string, Promise<KeyLike>>();

  registerClient(clientId: string, publicKeyPem: string): void {
    this.clients.set(clientId, importSPKI(publicKeyPem.replace(/\\n/g, '\n'), 'RS256'));
  }
  tokens = new Map<string, number>();
  firstSeen = new Map<string, number>();
  window: number[] = [];
  calls = 0;
  idsPerCall: number[] = [];
  /** How often each request id was asked about. */
  asked = new Map<string, number>();

  static defaults(): LighthouseSimConfig {
    return {
      stepMs: 1000,
      rateLimitPerMinute: 60,
      maxIds: 1000,
      autoKnown: true,
      fault: { mode: 'none' },
      unknown: [],
      outcomes: {},
      extraIds: [],
    };
  }

  /** How many times status() answered for each id (the `poll` pace). */
  readonly answered = new Map<string, number>();

  status(id: string, now: number) {
    const t0 = this.firstSeen.get(id) ?? now;
    this.firstSeen.set(id, t0);
    const o = this.config.outcomes[id] ?? {};
    const answered = (this.answered.get(id) ?? 0) + 1;
    this.answered.set(id, answered);
    const elapsed =
      this.config.stepEvery === 'poll' ? answered - 1 : Math.floor((now - t0) / this.config.stepMs);
    const phase = o.stuck ? 0 : elapsed;
    const failIndex = o.failAt ? STEPS.indexOf(o.failAt) : -1;
    const steps = STEPS.map((name, i) => ({
      name,
      nextStepName: STEPS[i + 1] ?? null,
      description: `${name} step`,
      status: i < phase - 1 ? 'SUCCESS' : i === phase - 1 ? 'IN_PROGRESS' : 'NOT_STARTED',
    }));
    if (failIndex >= 0 && phase - 1 >= failIndex) {
      steps.forEach(
        (s, i) =>
          (s.status = i < failIndex ? 'SUCCESS' : i === failIndex ? 'FAILED' : 'NOT_STARTED'),
      );
      return {
        requestId: id,
        time: { startTime: t0, endTime: now },
        status: 'FAILED',
        steps,
        error: { detail: `${STEPS[failIndex]} rejected the document`, step: STEPS[failIndex] },
      };
    }
    if (phase > STEPS.length) {
      steps.forEach((s) => (s.status = 'SUCCESS'));
      return {
        requestId: id,
        time: { startTime: t0, endTime: o.noEndTime ? null : now },
        status: 'SUCCESS',
        steps,
      };
    }
    return {
      requestId: id,
      time: { startTime: t0, endTime: null },
      status: 'IN_PROGRESS',
      steps,
    };
  }
}

export function registerLighthouse(
  app: FastifyInstance,
  state = new LighthouseState(),
): LighthouseState {
  app.post<{ Body: Record<string, string> }>(
    '/lighthouse/oauth2/benefits-documents/system/v1/token',
    async (req, reply) => {
      const b = req.body ?? {};
      if (b.grant_type !== 'client_credentials' || !b.client_assertion) {
        return reply.status(400).send({ error: 'invalid_request' });
      }
      try {
        const iss = decodeJwt(b.client_assertion).iss ?? '';
        const key = state.clients.get(iss);
        if (!key) throw new Error(`unknown client ${iss}`);
        const { payload } = await jwtVerify(b.client_assertion, await key, {
          algorithms: ['RS256'],
          issuer: iss,
          subject: iss,
          audience: state.audience,
        });
        if (typeof payload.exp !== 'number') throw new Error('no exp');
      } catch {
        return reply.status(401).send(INVALID_CLIENT);
      }
      const token = randomBytes(24).toString('hex');
      state.tokens.set(token, Date.now() + 600_000);
      return { access_token: token, token_type: 'Bearer', expires_in: 600, scope: b.scope ?? '' };
    },
  );

  app.post<{ Body: { data?: { requestIds?: unknown } } }>(
    '/lighthouse/services/benefits-documents/v1/uploads/status',
    async (req, reply) => {
      const auth = req.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if ((state.tokens.get(token) ?? 0) < Date.now())
        return reply.status(401).send({ errors: [{ status: '401', title: 'Unauthorized' }] });
      const now = Date.now();
      state.window = state.window.filter((t) => now - t < 60_000);
      const f = state.config.fault;
      const faulting = f.mode !== 'none' && (f.times === undefined || f.times > 0);
      if (faulting && f.times !== undefined) f.times--;
      const limit = state.config.rateLimitPerMinute;
      const reset = () =>
        state.window.length ? Math.ceil((60_000 - (now - state.window[0])) / 1000) : 60;
      if (state.window.length >= limit || (faulting && f.mode === 'rate-limit')) {
        return rateHeaders(reply.status(429), limit, limit, faulting ? 1 : reset())
          .header('www-authenticate', 'Bearer')
          .send(RATE_LIMITED);
      }
      if (faulting && f.mode === 'route-404') return reply.status(404).send(ROUTE_404);
      state.window.push(now);
      rateHeaders(reply, limit, state.window.length, reset());
      state.calls++;
      if (faulting && f.mode === 'error')
        return reply
          .status(f.status ?? 503)
          .send({ errors: [{ status: String(f.status ?? 503), title: 'Service unavailable' }] });
      if (faulting && f.mode === 'slow') await new Promise((r) => setTimeout(r, f.delayMs ?? 5000));
      if (faulting && f.mode === 'malformed')
        return reply
          .type('application/json')
          .send('{"data": {"statuses": [{"requestId": "abc", "status": 7}');
      // vets-api sends the ids as strings of digits (int64 values past 2^53 survive that).
      const ids = req.body?.data?.requestIds;
      if (
        !Array.isArray(ids) ||
        ids.some((i) => typeof i !== 'string' || !/^[0-9]{1,19}$/.test(i))
      ) {
        return reply
          .status(400)
          .send({ errors: [{ status: '400', title: 'requestIds must be strings of digits' }] });
      }
      if (ids.length > state.config.maxIds)
        return reply.status(413).send({ errors: [{ status: '413', title: 'Payload too large' }] });
      state.idsPerCall.push(ids.length);
      for (const i of ids) state.asked.set(String(i), (state.asked.get(String(i)) ?? 0) + 1);
      const unknown = new Set(state.config.unknown);
      const known = ids.map(String).filter((i) => state.config.autoKnown && !unknown.has(i));
      const notFound = ids.map(String).filter((i) => !known.includes(i));
      if (known.length === 0) return reply.status(404).send(NOT_FOUND_BODY());
      const statuses = [...known, ...state.config.extraIds].map((i) => state.status(i, now));
      // Ids go back as JSON numbers with every digit, as the real service writes an int64.
      return reply.type('application/json').send(
        JSON.stringify({ data: { statuses, requestIdsNotFound: notFound } })
          .replace(/"requestId":"(\d+)"/g, '"requestId":$1')
          .replace(
            /"requestIdsNotFound":\[([^\]]*)\]/,
            (_m, list: string) => `"requestIdsNotFound":[${list.replace(/"/g, '')}]`,
          ),
      );
    },
  );

  app.put<{ Body: Partial<LighthouseSimConfig> }>('/_sim/lighthouse', async (req) => {
    state.config = { ...state.config, ...req.body };
    return state.config;
  });
  app.post('/_sim/lighthouse/reset', async () => {
    state.config = LighthouseState.defaults();
    state.firstSeen.clear();
    state.window = [];
    state.calls = 0;
    state.idsPerCall = [];
    state.asked.clear();
    state.answered.clear();
    return { ok: true };
  });
  app.put<{ Body: { clientId?: string; publicKeyPem?: string } }>(
    '/_sim/lighthouse/clients',
    async (req, reply) => {
      if (!req.body?.clientId || !req.body.publicKeyPem)
        return reply.status(400).send({ error: 'clientId and publicKeyPem are required' });
      state.registerClient(req.body.clientId, req.body.publicKeyPem);
      return { ok: true };
    },
  );
  return state;
}
