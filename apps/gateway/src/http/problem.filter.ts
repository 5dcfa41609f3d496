import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Inject,
} from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { RpcCallError } from '@app/messaging';
import { ObjectNotFoundError } from '@app/storage';
import { currentCorrelationId } from '@app/observability';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { GatewayConfig } from '../config';
import { isEfolderPath, sendEfolderError } from '../efolder/efolder-errors.filter';
import { problem, PROBLEM_CONTENT_TYPE, type Problem } from './problem';
import { RequestValidationError } from './validation';

/** Maps every error to `application/problem+json`; a caller's mistake is never a 500. */
export function toProblem(err: unknown, url?: string): Problem {
  const base: Partial<Problem> = { instance: url, correlationId: currentCorrelationId() };
  if (err instanceof RequestValidationError) {
    return problem(400, err.message, 'validation_failed', { ...base, errors: err.fields });
  }
  // A file a service pointed to is no longer in storage (purged, or removed meanwhile).
  if (err instanceof ObjectNotFoundError)
    return problem(404, 'the stored file no longer exists', 'not_found', base);
  if (err instanceof RpcCallError) {
    const b = err.body;
    return problem(b.status, b.message, b.code, {
      ...base,
      ...(b.details ? { details: b.details } : {}),
    });
  }
  if (err instanceof HttpException) {
    const res = err.getResponse();
    const message = typeof res === 'string' ? res : (res as { message?: unknown }).message;
    const detail = Array.isArray(message)
      ? message.join('; ')
      : typeof message === 'string'
        ? message
        : err.message;
    return problem(err.getStatus(), detail, undefined, base);
  }
  // Errors raised by Fastify and its plugins before a route runs (bad JSON, rate limit, ...).
  const f = err as { statusCode?: number; message?: string; problem?: Problem };
  if (f?.problem) return { ...f.problem, ...base, instance: f.problem.instance ?? url };
  if (typeof f?.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    return problem(f.statusCode, f.message, undefined, base);
  }
  return problem(500, 'internal error', 'internal', base);
}

export function sendProblem(reply: FastifyReply, p: Problem): void {
  void reply.status(p.status).header('content-type', PROBLEM_CONTENT_TYPE).send(JSON.stringify(p));
}

@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const p = toProblem(err, req.url);
    // Readiness answering 503 (draining, broker away) is a state, not a failure to log.
    if (p.status >= 500 && !req.url.startsWith('/health/'))
      this.logger.error({ err, url: req.url, method: req.method }, 'request failed');
    const reply = http.getResponse<FastifyReply>();
    // Refused before an eFolder route ran (bad JSON, too deep): still in eFolder's shapes.
    if (isEfolderPath(req.url)) return sendEfolderError(reply, p);
    // Only an unreachable service is a 503; the caller may try again after this.
    if (p.status === 503) void reply.header('retry-after', String(this.config.RETRY_AFTER_SECONDS));
    // A service that knows when to come back says so (a document still being prepared).
    const after = (p.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
    if (typeof after === 'number' && after > 0)
      void reply.header('retry-after', String(Math.ceil(after)));
    sendProblem(reply, p);
  }
}
