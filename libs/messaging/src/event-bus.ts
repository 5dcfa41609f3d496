import amqp, { type AmqpConnectionManager, type ChannelWrapper } from 'amqp-connection-manager';
import type { Channel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import {
  eventsExchange,
  type EventEnvelope,
  isRpcErrorBody,
  type PlatformEvents,
} from '@app/contracts';
import {
  CORRELATION_HEADER,
  correlationIdFrom,
  extractTrace,
  inSpan,
  SpanKind,
  type MessagingMetrics,
  runWithContext,
} from '@app/observability';
import { InFlight } from './in-flight';
import {
  amqpConnectionOptions,
  brokerUrls,
  coalesceSocketWrites,
  EVENT_DELIVERY_LIMIT,
  eventQueueNames,
  type EventQueueNames,
  reportChannelErrors,
} from './topology';

export interface EventBusOptions {
  url: string;
  /** The consuming service; names its queues. */
  consumer: string;
  prefix?: string;
  prefetch: number;
  /** Handling attempts before a message is parked in the dead-letter queue. */
  maxAttempts: number;
  /** Wait before attempt n+1 is `retryDelaysMs[min(n-1, last)]`. */
  retryDelaysMs: number[];
  publishTimeoutMs?: number;
  shutdownGraceMs: number;
  logger: Logger;
  metrics?: MessagingMetrics;
}

export interface EventContext {
  envelope: EventEnvelope;
  attempt: number;
}

export type EventHandler<P = unknown> = (payload: P, ctx: EventContext) => Promise<void>;

/** An outgoing event as the outbox relay hands it over. */
export interface OutgoingEvent {
  id: string;
  name: string;
  payload: unknown;
  occurredAt: string;
  correlationId?: string;
  /** W3C trace context (`traceparent`, `tracestate`) to carry in the message headers. */
  trace?: Record<string, string>;
}

const ATTEMPT_HEADER = 'x-attempt';

/**
 * Events on a durable topic exchange. Each consuming service has a durable queue bound to
 * the names it handles, acks by hand after the handler succeeded, retries with back-off
 * through wait queues (TTL, then dead-lettered back to the work queue: the broker has no
 * delayed delivery), and parks a message in its dead-letter queue after the last attempt.
 */
export class EventBus<E extends object = PlatformEvents> {
  private readonly connection: AmqpConnectionManager;
  private readonly publisher: ChannelWrapper;
  private consumerWrapper?: ChannelWrapper;
  private consumerChannel?: Channel;
  private readonly consumerTag = `${randomUUID()}`;
  private readonly handlers = new Map<string, EventHandler>();
  private readonly queues: EventQueueNames;
  private readonly exchange: string;
  private readonly inFlight = new InFlight();
  private closing = false;

  constructor(private readonly opts: EventBusOptions) {
    this.exchange = eventsExchange(opts.prefix);
    this.queues = eventQueueNames(opts.consumer, opts.prefix);
    this.connection = reportChannelErrors(
      coalesceSocketWrites(amqp.connect(brokerUrls(opts.url), amqpConnectionOptions())),
      opts.logger,
    );
    this.connection.on('disconnect', ({ err }) =>
      opts.logger.warn({ err: err?.message }, 'event bus lost its broker connection'),
    );
    this.connection.on('connect', () => opts.logger.info('event bus connected to the broker'));
    this.publisher = this.connection.createChannel({
      confirm: true,
      publishTimeout: opts.publishTimeoutMs ?? 5000,
      setup: (ch: ConfirmChannel) =>
        ch.assertExchange(this.exchange, 'topic', { durable: true }).then(() => undefined),
    });
  }

  isConnected(): boolean {
    return this.connection.isConnected();
  }

  /**
   * Messages in this consumer's dead-letter queue, or null when it consumes nothing (the
   * queue is declared only by a consumer) or the broker is away.
   */
  async deadLetterDepth(): Promise<number | null> {
    const ch = this.consumerChannel;
    if (!ch || !this.isConnected()) return null;
    return (await ch.checkQueue(this.queues.dlq)).messageCount;
  }

  /**
   * Registers the handler for one event name; call before `start()`. Typed by the event map:
   * the handler receives that name's payload type.
   */
  on<N extends keyof E & string>(eventName: N, handler: EventHandler<E[N]>): void {
    if (this.handlers.has(eventName)) throw new Error(`a handler for ${eventName} already exists`);
    this.handlers.set(eventName, handler as EventHandler);
  }

  /** Publishes one event and resolves when the broker confirmed it. */
  async publish(event: OutgoingEvent): Promise<void> {
    const envelope: EventEnvelope = {
      id: event.id,
      name: event.name,
      occurredAt: event.occurredAt,
      payload: event.payload,
    };
    await this.publisher.publish(this.exchange, event.name, Buffer.from(JSON.stringify(envelope)), {
      persistent: true,
      messageId: event.id,
      type: event.name,
      contentType: 'application/json',
      timestamp: Math.floor(Date.parse(event.occurredAt) / 1000),
      headers: { [CORRELATION_HEADER]: event.correlationId ?? event.id, ...event.trace },
    });
  }

  /** Declares the consumer's queues and starts consuming (no-op without handlers). */
  async start(): Promise<void> {
    if (this.handlers.size === 0 || this.consumerWrapper) return;
    const { main, retry, dlq } = this.queues;
    this.consumerWrapper = this.connection.createChannel({
      confirm: true,
      setup: async (ch: ConfirmChannel) => {
        await ch.assertExchange(this.exchange, 'topic', { durable: true });
        // Quorum queues: replicated, and the broker itself dead-letters a message whose
        // consumers keep dying on it (the delivery limit).
        await ch.assertQueue(dlq, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
        await ch.assertQueue(main, {
          durable: true,
          arguments: {
            'x-queue-type': 'quorum',
            'x-delivery-limit': EVENT_DELIVERY_LIMIT,
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': dlq,
          },
        });
        for (const [i, delay] of this.opts.retryDelaysMs.entries()) {
          await ch.assertQueue(retry(i), {
            durable: true,
            arguments: {
              'x-queue-type': 'quorum',
              'x-message-ttl': delay,
              'x-dead-letter-exchange': '',
              'x-dead-letter-routing-key': main,
              // A waiting message goes back to work even if a node fails as its wait ends.
              'x-dead-letter-strategy': 'at-least-once',
              'x-overflow': 'reject-publish',
            },
          });
        }
        for (const name of this.handlers.keys()) await ch.bindQueue(main, this.exchange, name);
        await ch.prefetch(this.opts.prefetch);
        this.consumerChannel = ch;
        await ch.consume(main, (msg) => void this.onMessage(msg, ch), {
          noAck: false,
          consumerTag: this.consumerTag,
        });
      },
    });
    await this.consumerWrapper.waitForConnect();
  }

  private async onMessage(msg: ConsumeMessage | null, ch: ConfirmChannel): Promise<void> {
    if (!msg) return;
    if (this.closing) return safe(() => ch.nack(msg, false, true));
    const correlationId = correlationIdFrom(msg.properties.headers?.[CORRELATION_HEADER]);
    const type: unknown = msg.properties.type;
    const name = typeof type === 'string' ? type : msg.fields.routingKey;
    await this.inFlight.track(() =>
      runWithContext({ correlationId }, () =>
        // A CONSUMER span in the trace the publisher carried (through the outbox, too).
        inSpan(
          `${name} process`,
          {
            kind: SpanKind.CONSUMER,
            parent: extractTrace(msg.properties.headers),
            attributes: {
              'messaging.system': 'rabbitmq',
              'messaging.destination.name': this.queues.main,
              'messaging.message.id': String(msg.properties.messageId ?? ''),
            },
          },
          () => this.handle(msg, ch),
        ),
      ),
    );
  }

  private async handle(msg: ConsumeMessage, ch: ConfirmChannel): Promise<void> {
    const log = this.opts.logger;
    let envelope: EventEnvelope;
    try {
      envelope = JSON.parse(msg.content.toString('utf8')) as EventEnvelope;
      if (typeof envelope?.name !== 'string' || typeof envelope.id !== 'string')
        throw new Error('no name or id');
    } catch (err) {
      return this.park(msg, ch, `malformed event: ${(err as Error).message}`, 0);
    }
    const handler = this.handlers.get(envelope.name);
    const attempt = Number(msg.properties.headers?.[ATTEMPT_HEADER] ?? 0) + 1;
    if (!handler) return this.park(msg, ch, `no handler for ${envelope.name}`, attempt);
    try {
      await handler(envelope.payload, { envelope, attempt });
      safe(() => ch.ack(msg));
      this.opts.metrics?.eventsHandled.inc({ event: envelope.name, outcome: 'ok' });
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (isPermanent(err)) {
        // Retrying cannot help an event that is invalid: parked at once, with its reason.
        log.error(
          { err, event: envelope.name, id: envelope.id, attempt },
          'event refused for good; dead-lettered without retries',
        );
        return this.park(msg, ch, `permanent: ${reason}`, attempt);
      }
      if (attempt >= this.opts.maxAttempts) {
        log.error(
          { err, event: envelope.name, id: envelope.id, attempt },
          'event handler failed for the last time',
        );
        return this.park(msg, ch, reason, attempt);
      }
      const step = Math.min(attempt - 1, this.opts.retryDelaysMs.length - 1);
      log.warn(
        { err: reason, event: envelope.name, id: envelope.id, attempt },
        'event handler failed; will retry',
      );
      await this.forward(msg, ch, this.queues.retry(step), { [ATTEMPT_HEADER]: attempt });
      this.opts.metrics?.eventsHandled.inc({ event: envelope.name, outcome: 'retry' });
    }
  }

  /** Moves a message to the dead-letter queue with the reason, then acks the original. */
  private async park(
    msg: ConsumeMessage,
    ch: ConfirmChannel,
    reason: string,
    attempt: number,
  ): Promise<void> {
    await this.forward(msg, ch, this.queues.dlq, {
      [ATTEMPT_HEADER]: attempt,
      'x-dead-letter-reason': reason.slice(0, 1000),
      'x-dead-lettered-at': new Date().toISOString(),
    });
    this.opts.metrics?.eventsHandled.inc({
      event: String(msg.properties.type ?? 'unknown'),
      outcome: 'dead_lettered',
    });
  }

  /**
   * Copies the message to `queue` and acks the original only once the broker confirmed the
   * copy; if the copy fails the original is requeued, so a message is never dropped.
   */
  private async forward(
    msg: ConsumeMessage,
    ch: ConfirmChannel,
    queue: string,
    headers: Record<string, unknown>,
  ): Promise<void> {
    const props: Options.Publish = {
      ...(msg.properties as Options.Publish),
      persistent: true,
      headers: { ...msg.properties.headers, ...headers },
    };
    try {
      await new Promise<void>((resolve, reject) =>
        ch.sendToQueue(queue, msg.content, props, (err) =>
          err ? reject(err as Error) : resolve(),
        ),
      );
      safe(() => ch.ack(msg));
    } catch (err) {
      this.opts.logger.warn(
        { err: (err as Error).message, queue },
        'could not forward; requeueing',
      );
      safe(() => ch.nack(msg, false, true));
    }
  }

  /** Stops consuming, waits for handlers in progress, then closes the connection. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.consumerChannel)
      await this.consumerChannel.cancel(this.consumerTag).catch(() => undefined);
    const drained = await this.inFlight.drain(this.opts.shutdownGraceMs);
    if (!drained)
      this.opts.logger.warn(
        { inFlight: this.inFlight.size },
        'event handlers still running at shutdown',
      );
    await this.consumerWrapper?.close().catch(() => undefined);
    await this.publisher.close().catch(() => undefined);
    await this.connection.close();
  }
}

/**
 * An event handler's error that no retry can cure: the event is invalid (it fails
 * validation) or refers to something that can never exist. Thrown by handlers; the bus
 * dead-letters the event on this delivery.
 */
export class PermanentEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentEventError';
  }
}

/** Permanent: a PermanentEventError, a typed validation error, or a value Postgres refuses. */
export function isPermanent(err: unknown): boolean {
  if (err instanceof PermanentEventError) return true;
  const body = (err as { getError?: () => unknown })?.getError?.();
  if (isRpcErrorBody(body) && ['validation_failed', 'unprocessable'].includes(body.code))
    return true;
  const code = (err as { driverError?: { code?: unknown } })?.driverError?.code;
  return typeof code === 'string' && code.startsWith('22');
}

function safe(fn: () => void): void {
  try {
    fn();
  } catch {
    /* channel closed: the broker redelivers */
  }
}
