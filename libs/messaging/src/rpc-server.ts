import type { Logger } from 'pino';
import type { Channel, ConsumeMessage } from 'amqplib';
import { RmqContext, ServerRMQ, type WritePacket } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { findUnsafeValue, isRpcErrorBody, MAX_JSON_DEPTH } from '@app/contracts';
import {
  CORRELATION_HEADER,
  correlationIdFrom,
  extractTrace,
  inSpan,
  type MessagingMetrics,
  runWithContext,
  type Span,
  SpanKind,
} from '@app/observability';
import { InFlight } from './in-flight';
import {
  amqpConnectionOptions,
  brokerUrls,
  RPC_QUEUE_OPTIONS,
  withoutPublisherConfirms,
  coalesceSocketWrites,
  reportChannelErrors,
} from './topology';
import { toRpcErrorBody } from './rpc-exception.filter';
import {
  type Answer,
  DEADLINE_HEADER,
  FINGERPRINT_HEADER,
  isWritePattern,
  REQUEST_ID_HEADER,
  type WriteOnce,
} from './rpc-requests';
import { lastValueFrom } from 'rxjs';
import type { AmqpConnectionManager } from 'amqp-connection-manager';

/** The gateway's body depth plus the few levels of the RPC envelope around it. */
const RPC_MAX_DEPTH = MAX_JSON_DEPTH + 8;

export interface ReliableRmqServerOptions {
  url: string;
  queue: string;
  prefetch: number;
  shutdownGraceMs: number;
  logger: Logger;
  metrics?: MessagingMetrics;
  /** Records writes by request id, so a repeat has no second effect (absent: no record). */
  requests?: WriteOnce;
}

/**
 * The RMQ transport with the policy every service shares: manual acks after the reply is
 * sent, bounded prefetch, correlation ids from message headers into the log context,
 * and a shutdown that stops consuming, then waits for in-flight requests.
 */
export class ReliableRmqServer extends ServerRMQ {
  private readonly inFlight = new InFlight();
  private readonly consumerTag = `${hostname()}.${process.pid}.${randomUUID().slice(0, 8)}`;
  private consumerChannel?: Channel;
  private closing = false;

  constructor(private readonly opts: ReliableRmqServerOptions) {
    super({
      urls: brokerUrls(opts.url),
      queue: opts.queue,
      queueOptions: RPC_QUEUE_OPTIONS,
      noAck: false,
      prefetchCount: opts.prefetch,
      isGlobalPrefetchCount: false,
      persistent: false,
      consumerTag: undefined,
      socketOptions: amqpConnectionOptions(),
    });
    (this.options as { consumerTag?: string }).consumerTag = this.consumerTag;
  }

  override createClient<T = AmqpConnectionManager>(): T {
    return reportChannelErrors(
      coalesceSocketWrites(withoutPublisherConfirms(super.createClient<AmqpConnectionManager>())),
      this.opts.logger,
    ) as T;
  }

  /** Whether the broker connection is up right now (no new connection is opened to ask). */
  isConnected(): boolean {
    const conn = this.server as { isConnected(): boolean } | null;
    return conn?.isConnected() ?? false;
  }

  override async setupChannel(channel: Channel, callback: () => void): Promise<void> {
    this.consumerChannel = channel;
    return super.setupChannel(channel, callback);
  }

  override async handleMessage(
    raw: Record<string, unknown> | null,
    channel: Channel,
  ): Promise<void> {
    const message = raw as ConsumeMessage | null;
    if (!message) return; // the broker cancelled the consumer; setup runs again on reconnect
    if (this.closing) {
      safe(() => channel.nack(message, false, true));
      return;
    }
    const correlationId = correlationIdFrom(message.properties.headers?.[CORRELATION_HEADER]);
    await this.inFlight.track(() =>
      runWithContext({ correlationId }, () =>
        // A SERVER span in the caller's trace; named for its pattern once the body is read.
        inSpan(
          'rpc',
          {
            kind: SpanKind.SERVER,
            parent: extractTrace(message.properties.headers),
            attributes: { 'rpc.system': 'rabbitmq' },
          },
          (span) => this.process(message, channel, span),
        ),
      ),
    );
  }

  private async process(message: ConsumeMessage, channel: Channel, span: Span): Promise<void> {
    const { replyTo, correlationId } = message.properties as {
      replyTo?: string;
      correlationId?: string;
    };
    let packet: { pattern?: unknown; data?: unknown; id?: string };
    try {
      packet = JSON.parse(message.content.toString('utf8')) as typeof packet;
    } catch {
      this.opts.logger.warn({ queue: this.opts.queue }, 'dropping an RPC message that is not JSON');
      safe(() => channel.ack(message));
      return;
    }
    const pattern =
      typeof packet.pattern === 'string' ? packet.pattern : JSON.stringify(packet.pattern);
    span.updateName(pattern);
    span.setAttribute('rpc.method', pattern);
    const ctx = new RmqContext([message, channel, pattern]);
    const started = process.hrtime.bigint();
    let outcome = 'ok';
    const reply = (data: WritePacket) => {
      if (data.err !== undefined) outcome = isRpcErrorBody(data.err) ? data.err.code : 'error';
      if (replyTo && correlationId) this.sendMessage(data, replyTo, correlationId, ctx);
    };

    const handler = this.getHandlerByPattern(pattern);
    const headers = message.properties.headers ?? {};
    const deadline = numberHeader(headers[DEADLINE_HEADER]);
    const expired = deadline !== null && Date.now() > deadline;
    // Whatever the gateway let through, a service never stores or walks these values.
    const unsafe = handler && !expired ? findUnsafeValue(packet.data, RPC_MAX_DEPTH) : null;
    if (expired) {
      // Nobody waits for it any more: not started, not answered.
      outcome = 'expired';
    } else if (!handler || packet.id === undefined) {
      reply({
        err: { code: 'not_found', status: 404, message: `no handler for "${pattern}"` },
        isDisposed: true,
      });
    } else if (unsafe) {
      reply({
        err: {
          code: 'validation_failed',
          status: 400,
          message: `the value at "${unsafe.path}" ${unsafe.reason}`,
          details: { field: unsafe.path },
        },
        isDisposed: true,
      });
    } else {
      const run = async (): Promise<Answer> => {
        try {
          const result: unknown = await handler(packet.data, ctx);
          return {
            response: await lastValueFrom(this.transformToObservable(result), {
              defaultValue: undefined,
            }),
          };
        } catch (err) {
          // Filtered errors arrive typed; one that bypassed the filter is typed here.
          return {
            err: isRpcErrorBody(err) ? err : toRpcErrorBody(err, pattern, this.opts.logger),
          };
        }
      };
      const requestId = stringHeader(headers[REQUEST_ID_HEADER]);
      const answer =
        this.opts.requests && requestId && isWritePattern(pattern)
          ? await this.opts.requests.once(
              {
                requestId,
                pattern,
                deadline,
                fingerprint: stringHeader(headers[FINGERPRINT_HEADER]) ?? null,
                recorded: false,
                pending: false,
              },
              run,
            )
          : await run();
      if (answer) reply({ ...answer, isDisposed: true });
      else outcome = 'expired';
    }
    safe(() => channel.ack(message));
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    span.setAttribute('rpc.outcome', outcome);
    this.opts.metrics?.rpcHandled.inc({ pattern, outcome });
    this.opts.metrics?.rpcDuration.observe({ pattern }, seconds);
    this.opts.logger.debug({ pattern, outcome, ms: Math.round(seconds * 1e4) / 10 }, 'rpc handled');
  }

  override async close(): Promise<void> {
    this.closing = true;
    if (this.consumerChannel) {
      await this.consumerChannel.cancel(this.consumerTag).catch(() => undefined);
    }
    const drained = await this.inFlight.drain(this.opts.shutdownGraceMs);
    if (!drained) {
      this.opts.logger.warn(
        { inFlight: this.inFlight.size },
        'RPC requests still running at shutdown',
      );
    }
    await super.close();
  }
}

/** Acks and nacks on a channel that the broker already closed throw; the broker redelivers. */
function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    /* channel gone: the message will be redelivered */
  }
}

function stringHeader(v: unknown): string | undefined {
  const s = Buffer.isBuffer(v) ? v.toString('utf8') : v;
  return typeof s === 'string' && s.length > 0 && s.length <= 512 ? s : undefined;
}

function numberHeader(v: unknown): number | null {
  const n = typeof v === 'number' ? v : Number(stringHeader(v));
  return Number.isFinite(n) && n > 0 ? n : null;
}
