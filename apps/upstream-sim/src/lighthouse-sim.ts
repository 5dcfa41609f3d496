import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';

/**
 * A simulator of Lighthouse Benefits Documents' status API: client-credentials tokens
 * (600 s), the bulk status endpoint with its contract (millisecond times, int64 ids,
 * `requestIdsNotFound`, 404 when no id is known, 413 past its size limit, 429 past its rate),
 * documents moving through the steps over time, and switchable failures.
 */
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
  rateLimitPerMinute: number;
  maxIds: number;
  autoKnown: boolean;
  fault: {
    mode: 'none' | 'error' | 'slow' | 'malformed' | 'rate-limit';
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

  status(id: string, now: number) {
    const t0 = this.firstSeen.get(id) ?? now;
    this.firstSeen.set(id, t0);
    const o = this.config.outcomes[id] ?? {};
    const phase = o.stuck ? 0 : Math.floor((now - t0) / this.config.stepMs);
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
        requestId: Number(id),
        time: { startTime: t0, endTime: now },
        status: 'FAILED',
        steps,
        error: { detail: `${STEPS[failIndex]} rejected the document`, step: STEPS[failIndex] },
      };
    }
    if (phase > STEPS.length) {
      steps.forEach((s) => (s.status = 'SUCCESS'));
      return {
        requestId: Number(id),
        time: { startTime: t0, endTime: o.noEndTime ? null : now },
        status: 'SUCCESS',
        steps,
      };
    }
    return {
      requestId: Number(id),
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
      if (
        state.window.length >= state.config.rateLimitPerMinute ||
        (faulting && f.mode === 'rate-limit')
      ) {
        return reply
          .status(429)
          .header(
            'retry-after',
            faulting ? '1' : String(Math.ceil((60_000 - (now - state.window[0])) / 1000)),
          )
          .send({ errors: [{ status: '429', title: 'Too many requests' }] });
      }
      state.window.push(now);
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
      const ids = req.body?.data?.requestIds;
      if (!Array.isArray(ids) || ids.some((i) => !Number.isInteger(i))) {
        return reply
          .status(400)
          .send({ errors: [{ status: '400', title: 'requestIds must be an array of integers' }] });
      }
      if (ids.length > state.config.maxIds)
        return reply.status(413).send({ errors: [{ status: '413', title: 'Payload too large' }] });
      state.idsPerCall.push(ids.length);
      for (const i of ids) state.asked.set(String(i), (state.asked.get(String(i)) ?? 0) + 1);
      const unknown = new Set(state.config.unknown);
      const known = ids.map(String).filter((i) => state.config.autoKnown && !unknown.has(i));
      const notFound = ids.map(String).filter((i) => !known.includes(i));
      if (known.length === 0)
        return reply.status(404).send({
          errors: [
            { status: '404', title: 'Not found', detail: 'none of the request ids is known' },
          ],
        });
      const statuses = [...known, ...state.config.extraIds].map((i) => state.status(i, now));
      return { data: { statuses, requestIdsNotFound: notFound.map(Number) } };
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
    return { ok: true };
  });
  return state;
}
