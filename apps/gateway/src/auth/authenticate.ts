import rateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { problem } from '../http/problem';
import type { AuthedRequest } from './api-key.guard';
import { ApiKeyStore } from './api-keys';

const isHealth = (req: FastifyRequest) => req.url.startsWith('/health/');

// eFolder's client sends `Authorization: Token token=<key>` (optionally quoted).
const EFOLDER_TOKEN = /^Token\s+token="?([^"\s]+)"?\s*$/i;

/** The key a request presents: `X-Api-Key`, or on the eFolder v2 routes its token header. */
export function presentedKey(req: FastifyRequest): string | undefined {
  const header = req.headers['x-api-key'];
  if (typeof header === 'string') return header;
  if (req.url.startsWith('/api/v2/')) {
    const auth = req.headers.authorization;
    const m = typeof auth === 'string' ? EFOLDER_TOKEN.exec(auth) : null;
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Authentication runs once per request, as a Fastify hook: it resolves the caller from
 * `X-Api-Key` (if any) and stores it on the request. The rate limiter then counts per key
 * (per client address without one), and the guard decides per route what the caller may do.
 */
export async function registerAuthentication(
  app: NestFastifyApplication,
  perMinute: number,
): Promise<void> {
  const keys = app.get(ApiKeyStore);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', (req, _reply, done) => {
      const caller = keys.verify(presentedKey(req));
      if (caller) (req as AuthedRequest).caller = caller;
      done();
    });
  await app.register(rateLimit, {
    global: true,
    max: perMinute,
    timeWindow: 60_000,
    // Health probes are never limited: a throttled probe would take a healthy pod out.
    allowList: (req) => isHealth(req),
    keyGenerator: (req) => {
      const caller = (req as AuthedRequest).caller;
      return caller ? `key:${caller.keyId}` : `ip:${req.ip}`;
    },
    errorResponseBuilder: (req, ctx) =>
      Object.assign(
        new Error(`rate limit of ${ctx.max} requests per minute exceeded; retry in ${ctx.after}`),
        {
          statusCode: 429,
          problem: problem(
            429,
            `rate limit of ${ctx.max} requests per minute exceeded; retry in ${ctx.after}`,
            'rate_limited',
            { instance: req.url },
          ),
        },
      ),
  });
}
