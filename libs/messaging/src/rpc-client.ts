import { ClientRMQ, RmqRecordBuilder } from '@nestjs/microservices';
import { firstValueFrom, timeout, TimeoutError } from 'rxjs';
import { randomUUID } from 'node:crypto';
import {
  isRpcErrorBody,
  rpcQueueOf,
  serviceOfPattern,
  type RpcPattern,
  type RpcRequest,
  type RpcResponse,
  type ServiceName,
} from '@app/contracts';
import {
  CORRELATION_HEADER,
  currentContext,
  inSpan,
  SpanKind,
  traceHeaders,
} from '@app/observability';
import { DEADLINE_HEADER, FINGERPRINT_HEADER, REQUEST_ID_HEADER } from './rpc-requests';
import { RpcCallError } from './rpc-errors';
import type { AmqpConnectionManager } from 'amqp-connection-manager';
import type { Logger } from 'pino';
import {
  amqpConnectionOptions,
  brokerUrls,
  RPC_QUEUE_OPTIONS,
  withoutPublisherConfirms,
  coalesceSocketWrites,
  reportChannelErrors,
} from './topology';

export interface RpcClientOptions {
  url: string;
  prefix?: string;
  timeoutMs: number;
  /** Where channel set-up failures are reported (they are never thrown). */
  logger?: Pick<Logger, 'warn'>;
}

/**
 * Typed RPC to the services: one pattern, its request type, its response type. Every call
 * has a deadline, and the request expires in the queue at the same deadline, so a service
 * that comes back late does not work on requests nobody waits for.
 */
export class RpcClient {
  private readonly clients = new Map<ServiceName, ClientRMQ>();

  constructor(private readonly opts: RpcClientOptions) {}

  async send<P extends RpcPattern>(
    pattern: P,
    data: RpcRequest<P>,
    options: { timeoutMs?: number } = {},
  ): Promise<RpcResponse<P>> {
    const timeoutMs = options.timeoutMs ?? this.opts.timeoutMs;
    const client = this.clientFor(serviceOfPattern(pattern));
    const ctx = currentContext();
    // Within one HTTP request the n-th RPC has the same id every time the request is repeated.
    const requestId = ctx?.requestId
      ? `${ctx.requestId}:${(ctx.rpcCount = (ctx.rpcCount ?? 0) + 1)}`
      : randomUUID();
    return inSpan(
      pattern,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'rpc.system': 'rabbitmq', 'rpc.method': pattern },
      },
      () => this.call(client, pattern, data, timeoutMs, requestId, ctx),
    );
  }

  private async call<P extends RpcPattern>(
    client: ClientRMQ,
    pattern: P,
    data: RpcRequest<P>,
    timeoutMs: number,
    requestId: string,
    ctx: ReturnType<typeof currentContext>,
  ): Promise<RpcResponse<P>> {
    const record = new RmqRecordBuilder(data)
      .setOptions({
        headers: {
          // The RPC span's trace context: the service's span continues this trace.
          ...traceHeaders(),
          [CORRELATION_HEADER]: ctx?.correlationId ?? randomUUID(),
          [REQUEST_ID_HEADER]: requestId,
          // The service stops committing a margin before the caller stops waiting, so a
          // commit in flight at the deadline still reaches the caller (no "504 but done").
          [DEADLINE_HEADER]: String(Date.now() + timeoutMs - commitMargin(timeoutMs)),
          ...(ctx?.fingerprint ? { [FINGERPRINT_HEADER]: ctx.fingerprint } : {}),
        },
        expiration: String(timeoutMs),
      })
      .build();
    try {
      return await firstValueFrom(
        client.send<RpcResponse<P>>(pattern, record).pipe(timeout({ first: timeoutMs })),
      );
    } catch (err) {
      throw toCallError(err, pattern, timeoutMs);
    }
  }

  /** Whether every connection to the broker is up (used by readiness). */
  isConnected(): boolean {
    if (this.clients.size === 0) return false;
    return [...this.clients.values()].every((c) => {
      try {
        return c.unwrap<{ isConnected(): boolean }>().isConnected();
      } catch {
        return false; // not connected yet
      }
    });
  }

  /** Opens the connections up front so the first request does not pay for them. */
  async connect(services: readonly ServiceName[]): Promise<void> {
    await Promise.allSettled(services.map((s) => this.clientFor(s).connect()));
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }

  private clientFor(service: ServiceName): ClientRMQ {
    let client = this.clients.get(service);
    if (!client) {
      client = new RpcClientRmq(this.opts.logger, {
        urls: brokerUrls(this.opts.url),
        queue: rpcQueueOf(service, this.opts.prefix),
        queueOptions: RPC_QUEUE_OPTIONS,
        // Requests are not persisted: one that outlives its caller's deadline has no reader.
        persistent: false,
        socketOptions: amqpConnectionOptions(),
      });
      this.clients.set(service, client);
    }
    return client;
  }
}

class RpcClientRmq extends ClientRMQ {
  constructor(
    private readonly reportTo: Pick<Logger, 'warn'> | undefined,
    options: ConstructorParameters<typeof ClientRMQ>[0],
  ) {
    super(options);
  }

  override createClient(): AmqpConnectionManager {
    return reportChannelErrors(
      coalesceSocketWrites(withoutPublisherConfirms(super.createClient() as AmqpConnectionManager)),
      this.reportTo,
    );
  }
}

function toCallError(err: unknown, pattern: string, timeoutMs: number): RpcCallError {
  if (err instanceof RpcCallError) return err;
  const service = pattern.split('.')[0];
  if (err instanceof TimeoutError) {
    return new RpcCallError(
      { code: 'timeout', status: 504, message: `${service} did not answer within ${timeoutMs} ms` },
      pattern,
    );
  }
  if (isRpcErrorBody(err)) return new RpcCallError(err, pattern);
  // The service answered, but with an error no filter typed (Nest's `{ status: 'error' }`):
  // a bug on its side, not an outage, so never a retryable 503.
  if (isNestErrorReply(err)) {
    return new RpcCallError(
      { code: 'internal', status: 500, message: `${service} failed to handle the request` },
      pattern,
    );
  }
  // amqp-connection-manager reports a failed connection as `{ err, url }`.
  const cause = (err as { err?: unknown })?.err ?? err;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new RpcCallError(
    { code: 'unavailable', status: 503, message: `${service} is unreachable: ${message}` },
    pattern,
  );
}

/** Nest's own answer for an error no filter handled: `{ status: 'error', message }`. */
function isNestErrorReply(err: unknown): boolean {
  const o = err as { status?: unknown; message?: unknown } | null;
  return (
    typeof o === 'object' && o !== null && o.status === 'error' && typeof o.message === 'string'
  );
}

/** Time kept for a commit and its answer: a quarter of the deadline, 250 ms to 1 s. */
export function commitMargin(timeoutMs: number): number {
  return Math.min(1000, Math.max(250, Math.floor(timeoutMs / 4)));
}
