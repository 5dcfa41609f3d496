import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Socket } from 'node:net';
import { CORRELATION_HEADER, correlationIdFrom } from '@app/observability';
import type { GatewayConfig } from '../config';
import { isEfolderPath, sendEfolderError } from '../efolder/efolder-errors.filter';
import { problem, PROBLEM_CONTENT_TYPE } from './problem';

/**
 * `TRUST_PROXY`: none by default (the socket's address is the client), a number of proxy
 * hops, or a comma-separated list of the proxies' addresses/CIDRs. Trusting every hop lets any
 * caller choose its own address with `X-Forwarded-For`.
 */
export function trustProxyOption(value: string): boolean | number | string[] {
  const v = value.trim();
  if (v === '' || v === 'false' || v === '0') return false;
  if (/^\d+$/.test(v)) return Number(v);
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Fastify's own refusals (bad URL, over-long parameter) as problem+json with a correlation id. */
function frameworkError(
  err: Error & { statusCode?: number },
  req: FastifyRequest,
  reply: FastifyReply,
) {
  const status =
    err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
  const correlationId = correlationIdFrom(req.headers[CORRELATION_HEADER]);
  const p = problem(status, err.message, undefined, { correlationId });
  void reply.header(CORRELATION_HEADER, correlationId);
  if (isEfolderPath(req.url)) return sendEfolderError(reply, p);
  void reply.status(status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(p));
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (headers too large, a
 * request that took too long to arrive, malformed HTTP): answered as problem+json on the
 * raw socket, then closed.
 */
function clientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'the request headers are larger than allowed']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'the request did not arrive in time']
        : [400, 'the request is not valid HTTP'];
  const correlationId = correlationIdFrom(undefined);
  const body = JSON.stringify(problem(status, detail, undefined, { correlationId }));
  const title = problem(status).title;
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${title}\r\nConnection: close\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `${CORRELATION_HEADER}: ${correlationId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Server options: limits and timeouts so a slow or hostile client cannot hold a socket. */
export function serverOptions(config: GatewayConfig): FastifyServerOptions {
  return {
    bodyLimit: config.BODY_LIMIT_BYTES,
    trustProxy: trustProxyOption(config.TRUST_PROXY),
    // Whole request (headers and body) must arrive within this; headers sooner.
    requestTimeout: config.REQUEST_TIMEOUT_MS,
    keepAliveTimeout: config.KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: config.CONNECTION_TIMEOUT_MS,
    http: {
      headersTimeout: config.HEADERS_TIMEOUT_MS,
      // Node checks the two timeouts above on this interval (30 s by default).
      connectionsCheckingInterval: 1000,
    },
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: frameworkError,
    clientErrorHandler: clientError,
  } as FastifyServerOptions;
}

/**
 * Security headers on every answer (nosniff, no framing, no referrer, HSTS, a CSP that
 * allows nothing but the OpenAPI UI's own assets), and `Cache-Control: no-store` unless a
 * route says otherwise: the API carries form data, documents and link tokens.
 */
export async function registerSecurityHeaders(fastify: FastifyInstance): Promise<void> {
  await fastify.register(helmet, {
    global: true,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        'default-src': ["'none'"],
        'frame-ancestors': ["'none'"],
        'base-uri': ["'none'"],
        'form-action': ["'none'"],
      },
    },
    referrerPolicy: { policy: 'no-referrer' },
    hsts: { maxAge: 31_536_000, includeSubDomains: true },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
  fastify.addHook('onSend', (req, reply, payload, done) => {
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    // The OpenAPI UI is the one HTML page: it needs its own scripts, styles and images.
    if (req.routeOptions.url?.startsWith('/docs') && !req.routeOptions.url.endsWith('.json')) {
      void reply.header(
        'content-security-policy',
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
      );
    }
    done(null, payload);
  });
}
