import type { FastifyInstance } from 'fastify';
import { createHash } from 'node:crypto';
import { currentContext } from '@app/observability';
import type { AuthedRequest } from '../auth/api-key.guard';
import { RequestValidationError } from './validation';

export const IDEMPOTENCY_HEADER = 'idempotency-key';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * `Idempotency-Key` on a POST (IETF httpapi-idempotency-key-header, as Stripe defines it): the
 * request's RPCs are named by the caller's key instead of a fresh id, so a repeat within the
 * retention gets the stored answer and no second effect, and a repeat with another body (or
 * route) is a 422. Keys are per caller: two callers' equal keys never meet.
 */
export function registerIdempotencyKeys(fastify: FastifyInstance): void {
  fastify.addHook('preHandler', (req, _reply, done) => {
    const raw = req.headers[IDEMPOTENCY_HEADER];
    if (raw === undefined || req.method !== 'POST') return done();
    const key = Array.isArray(raw) ? raw[0] : raw;
    if (!/^[\x21-\x7e]{1,255}$/.test(key))
      return done(
        new RequestValidationError([
          {
            field: 'Idempotency-Key',
            messages: ['Idempotency-Key must be 1 to 255 visible ASCII characters'],
          },
        ]),
      );
    const ctx = currentContext();
    if (ctx) {
      const caller = (req as AuthedRequest).caller?.keyId ?? 'link';
      ctx.requestId = `idem:${sha256(`${caller}\n${key}`)}`;
      ctx.fingerprint = sha256(`${req.method} ${req.url}\n${JSON.stringify(req.body ?? null)}`);
      ctx.rpcCount = 0;
    }
    done();
  });
}
