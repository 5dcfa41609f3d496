import type { LoggerService } from '@nestjs/common';
import { activeTraceIds } from './tracing';
import pino, { type Logger as Pino } from 'pino';
import { currentContext } from './context';

/** Keys whose values never reach a log line, at any depth pino can see. */
const REDACT = [
  'password',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'authorization',
  'secret',
  '*.password',
  '*.token',
  '*.accessToken',
  '*.refreshToken',
  '*.apiKey',
  '*.authorization',
  '*.secret',
  'headers["x-api-key"]',
  'headers.authorization',
];

/**
 * Paths that carry a secret of their own: a recipient's link token is the credential for that
 * step (`/api/v1/r/<token>/...`). Logged paths keep the route's shape, never the secret.
 */
const SECRET_PATH_SEGMENTS = [/(\/api\/v1\/r\/)[^/?#]+/g];

export function redactPath(url: string): string {
  // Query strings carry OAuth codes and states, and callers' search terms: never logged.
  const path = url.split('?')[0];
  return SECRET_PATH_SEGMENTS.reduce((u, re) => u.replace(re, '$1[redacted]'), path);
}

const redactIfString = (v: unknown) => (typeof v === 'string' ? redactPath(v) : v);

export function createLogger(
  service: string,
  level = process.env.LOG_LEVEL ?? 'info',
  destination?: pino.DestinationStream,
): Pino {
  return pino(
    {
      level,
      base: { service },
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      serializers: { url: redactIfString, instance: redactIfString, path: redactIfString },
      formatters: { level: (label) => ({ level: label }) },
      // Every line written inside a request or message handler carries its correlation id,
      // and its trace and span ids when it runs in a trace.
      mixin() {
        const ctx = currentContext();
        const ids = activeTraceIds();
        return { ...(ctx ? { correlationId: ctx.correlationId } : {}), ...ids };
      },
    },
    destination,
  );
}

/** Nest's LoggerService over pino, so framework and app logs share one JSON format. */
export class JsonLogger implements LoggerService {
  constructor(readonly pino: Pino) {}

  log(message: unknown, ...rest: unknown[]): void {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, rest);
  }

  private write(level: pino.Level, message: unknown, rest: unknown[]): void {
    // Nest passes the context name last; an Error or stack may come first.
    const context = typeof rest[rest.length - 1] === 'string' ? (rest.pop() as string) : undefined;
    const fields: Record<string, unknown> = context ? { context } : {};
    for (const r of rest) {
      if (r instanceof Error) fields.err = r;
      else if (typeof r === 'string' && r.includes('\n    at ')) fields.stack = r;
    }
    if (message instanceof Error) this.pino[level]({ ...fields, err: message }, message.message);
    else if (typeof message === 'object' && message !== null)
      this.pino[level]({ ...fields, ...message });
    else this.pino[level](fields, String(message));
  }
}
