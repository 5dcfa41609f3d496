import { type ArgumentsHost, Catch, type ExceptionFilter, Inject } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { LOGGER } from '@app/service-kit';
import type { Problem } from '../http/problem';
import { toProblem } from '../http/problem.filter';

/**
 * eFolder Express's error shapes, which its existing client parses: 404 and 5xx as
 * `{ errors: [{ title, detail }] }`, every other 4xx as `{ status: "<message>" }`.
 */
@Catch()
export class EfolderErrorFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(err: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const p = toProblem(err, req.url);
    if (p.status >= 500) this.logger.error({ err, url: req.url }, 'eFolder request failed');
    sendEfolderError(reply, p);
  }
}

/** Whether a request is on eFolder's v2 API (its errors keep eFolder's shapes). */
export const isEfolderPath = (url: string) => url.startsWith('/api/v2/');

export function sendEfolderError(reply: FastifyReply, p: Problem): void {
  // eFolder answers every missing or wrong token with exactly this.
  const message = p.status === 401 ? 'unauthorized' : (p.detail ?? p.title);
  const body =
    p.status === 404 || p.status >= 500
      ? { errors: [{ title: p.title, detail: message }] }
      : { status: message };
  if (reply.sent) return;
  void reply.status(p.status).header('content-type', 'application/json; charset=utf-8').send(body);
}
