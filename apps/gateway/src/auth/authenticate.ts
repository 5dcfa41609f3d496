import rateLimit from '@fastify/rate-limit';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyRequest } from 'fastify';
import { problem } from '../http/problem';
import type { AuthedRequest } from './api-key.guard';
import { ApiKeyStore } from './api-keys';
import { ManagedKeys } from './managed-keys';

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
 * `X-Api-Key` (if any): keys from configuration first (bootstrap), then managed keys from
 * the gateway's schema, and stores it on the request. The rate limiter then counts per key
 * (per client address without one), and the guard decides per route what the caller may do.
 */
export async function registerAuthentication(
  app: NestFastifyApplication,
  perMinute: number,
): Promise<void> {
  const keys = app.get(ApiKeyStore);
  const managed = app.get(ManagedKeys);
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (req) => {
      const presented = presentedKey(req);
      if (presented === undefined || isHealth(req)) return;
      const r = req as AuthedRequest;
      const caller = keys.verify(presented);
      if (caller) {
        r.caller = caller;
        return;
      }
      try {
        r.caller = (await managed.verify(presented)) ?? undefined;
      } catch {
        // The guard answers 503: the key may be fine, the store could not say.
        r.keyStoreUnavailable = true;
      }
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
