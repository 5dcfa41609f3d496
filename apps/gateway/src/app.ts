import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { SwaggerModule } from '@nestjs/swagger';
import { buildOpenApi } from './openapi/openapi';
import type { DestinationStream } from 'pino';
import type { FastifyRequest } from 'fastify';
import {
  CORRELATION_HEADER,
  correlationIdFrom,
  createLogger,
  extractTrace,
  type HttpMetrics,
  JsonLogger,
  runWithContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  startSpan,
  withTraceContext,
} from '@app/observability';
import { platformVersion } from '@app/service-kit';
import type { AuthedRequest } from './auth/api-key.guard';
import { registerAuthentication } from './auth/authenticate';
import type { GatewayConfig } from './config';
import { DrainState } from './drain';
import { GatewayModule, HTTP_METRICS } from './gateway.module';
import { problem } from './http/problem';
import { sendProblem } from './http/problem.filter';
import { createValidationPipe } from './http/validation';
import { registerSecurityHeaders, serverOptions } from './http/hardening';
import { registerInputLimits } from './http/input-limits';
import multipart from '@fastify/multipart';
import { registerIdempotencyKeys } from './http/idempotency';
import { randomUUID } from 'node:crypto';

const spans = new WeakMap<FastifyRequest, Span>();

export async function createGatewayApp(
  config: GatewayConfig,
  logDestination?: DestinationStream,
): Promise<NestFastifyApplication> {
  const logger = createLogger('gateway', config.LOG_LEVEL, logDestination);
  const adapter = new FastifyAdapter(serverOptions(config));
  const fastify = adapter.getInstance();

  // The correlation id enters here and follows the request into RPC headers and every log line.
  fastify.addHook('onRequest', (req, reply, done) => {
    const correlationId = correlationIdFrom(req.headers[CORRELATION_HEADER]);
    void reply.header(CORRELATION_HEADER, correlationId);
    // The request's SERVER span continues the caller's `traceparent`, if it sent one; named
    // by route template, never the raw URL (paths carry ids and link tokens).
    const route = req.routeOptions.url ?? 'unmatched';
    const { span, context: traced } = startSpan(`${req.method} ${route}`, {
      kind: SpanKind.SERVER,
      parent: extractTrace(req.headers),
      attributes: { 'http.request.method': req.method, 'http.route': route },
    });
    spans.set(req, span);
    // Each HTTP request names its RPCs, so a broker redelivery of one has no second effect.
    runWithContext({ correlationId, requestId: randomUUID() }, () =>
      withTraceContext(traced, done),
    );
  });
  const endSpan = (req: FastifyRequest, status?: number) => {
    const span = spans.get(req);
    if (!span) return;
    spans.delete(req);
    if (status !== undefined) span.setAttribute('http.response.status_code', status);
    if (status === undefined || status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  };
  fastify.addHook('onResponse', (req, reply, done) => {
    endSpan(req, reply.statusCode);
    done();
  });
  fastify.addHook('onRequestAbort', (req, done) => {
    endSpan(req);
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    logger.info(
      {
        method: req.method,
        // The logger redacts the secrets paths carry (recipient link tokens).
        url: req.url.split('?')[0],
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
    done();
  });
  // JSON bodies (the copies routes' JSON Patch and Merge Patch too), query and path values
  // are checked for depth, NUL and lone surrogates before anything else reads them.
  registerInputLimits(fastify, config.MAX_JSON_DEPTH);
  await registerSecurityHeaders(fastify);
  // Streamed uploads (a recipient's attachment): one file, bounded as it arrives.
  await fastify.register(multipart, {
    limits: { fileSize: config.ATTACHMENT_MAX_BYTES, files: 1, fields: 0, parts: 1 },
  });
  registerIdempotencyKeys(fastify);

  const app = await NestFactory.create<NestFastifyApplication>(
    GatewayModule.create(config, logger),
    adapter,
    // Body parsers are the gateway's own (registerInputLimits), not Nest's defaults.
    { logger: new JsonLogger(logger), bodyParser: false },
  );
  app.useGlobalPipes(createValidationPipe());
  // Shutdown is the gateway's own (drain.ts): readiness first, then the listener.
  const drain = app.get(DrainState);
  fastify.addHook('onSend', (_req, reply, payload, done) => {
    if (drain.draining) void reply.header('connection', 'close');
    done(null, payload);
  });

  await registerAuthentication(app, config.RATE_LIMIT_PER_MINUTE);

  // Per route template (bounded labels); a URL no route matched counts as `unmatched`.
  const http = app.get<HttpMetrics>(HTTP_METRICS);
  fastify.addHook('onResponse', (req, reply, done) => {
    const route = req.routeOptions.url ?? 'unmatched';
    http.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    http.duration.observe({ method: req.method, route }, reply.elapsedTime / 1000);
    done();
  });

  // OpenAPI at /docs, behind a key like every other non-health route.
  // Decided on the matched route, not the raw URL: `/%64ocs` routes to /docs too.
  fastify.addHook('onRequest', (req, reply, done) => {
    const route = req.routeOptions.url ?? '';
    if (!(route === '/docs' || route.startsWith('/docs/')) || (req as AuthedRequest).caller)
      return done();
    sendProblem(
      reply,
      problem(401, 'a valid API key is required in the X-Api-Key header', undefined, {
        instance: req.url,
      }),
    );
  });
  const doc = buildOpenApi(app, platformVersion());
  SwaggerModule.setup('docs', app, doc, { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}
