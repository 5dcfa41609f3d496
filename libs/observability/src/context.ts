import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';

/** What follows a request from the gateway through RabbitMQ into every service. */
export interface RequestContext {
  correlationId: string;
  caller?: string;
  /** Names this request's RPCs: each gets `<requestId>:<n>`, the same again on a repeat. */
  requestId?: string;
  rpcCount?: number;
  /** The hash of what was asked, carried with a caller's Idempotency-Key. */
  fingerprint?: string;
}

export const CORRELATION_HEADER = 'x-correlation-id';

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(ctx: RequestContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Accepts a caller-supplied id only when it is short and plain; otherwise makes one. */
export function correlationIdFrom(value: unknown): string {
  const v = Array.isArray(value) ? (value[0] as unknown) : value;
  if (Buffer.isBuffer(v)) return correlationIdFrom(v.toString('utf8'));
  return typeof v === 'string' && SAFE_ID.test(v) ? v : randomUUID();
}
