import type { AmqpConnectionManager, AmqpConnectionManagerOptions } from 'amqp-connection-manager';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';

/**
 * Socket settings for every connection to RabbitMQ. `noDelay` turns off Nagle's
 * algorithm: without it a lone RPC waits ~40 ms for the delayed ACK.
 */
export function amqpConnectionOptions() {
  return {
    heartbeatIntervalInSeconds: 5,
    reconnectTimeInSeconds: 1,
    connectionOptions: {
      noDelay: true,
      timeout: 5000,
      clientProperties: { connection_name: process.title },
    },
  } satisfies AmqpConnectionManagerOptions;
}

/**
 * Arguments of a service's RPC queue; client and server must declare it identically. A quorum
 * queue is replicated across the cluster's nodes (Raft), so the loss of one node neither stops
 * RPC nor loses a request; a request redelivered this often (it keeps killing its consumer)
 * is dropped rather than taking replica after replica down.
 */
export const RPC_QUEUE_OPTIONS = {
  durable: true,
  arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 5 },
};

/** Redeliveries of one event (consumers lost mid-handling) before it is dead-lettered. */
export const EVENT_DELIVERY_LIMIT = 10;

export interface EventQueueNames {
  main: string;
  retry: (step: number) => string;
  dlq: string;
}

export function eventQueueNames(consumer: string, prefix = ''): EventQueueNames {
  // `.v2`: quorum queues (see rpcQueueOf).
  const main = `${prefix}${consumer}.events.v2`;
  return { main, retry: (step) => `${main}.retry.${step}`, dlq: `${main}.dlq` };
}

/**
 * RPC channels publish without publisher confirms: the reply is the confirmation, and the
 * caller's deadline covers a request lost on the way. Confirms would double the broker's
 * frames per request for nothing. Events keep confirms (see EventBus).
 */
export function withoutPublisherConfirms(conn: AmqpConnectionManager): AmqpConnectionManager {
  const create = conn.createChannel.bind(conn);
  conn.createChannel = (opts = {}) => create({ ...opts, confirm: false });
  return conn;
}

/**
 * Coalesces every frame amqplib writes within one tick into a single socket write. A
 * request is several frames (method, header, body, then an ack), and without corking each
 * one is its own system call; on a small virtual machine those calls dominate the cost.
 */
export function coalesceSocketWrites(conn: AmqpConnectionManager): AmqpConnectionManager {
  conn.on('connect', ({ connection }) => {
    const stream = (connection as unknown as { connection?: { stream?: Socket } }).connection
      ?.stream;
    if (!stream || typeof stream.cork !== 'function' || (stream as CorkedSocket).coalescing) return;
    (stream as CorkedSocket).coalescing = true;
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    let corked = false;
    stream.write = (...args: unknown[]) => {
      if (!corked) {
        corked = true;
        stream.cork();
        process.nextTick(() => {
          corked = false;
          stream.uncork();
        });
      }
      return write(...args);
    };
  });
  return conn;
}

type CorkedSocket = Socket & { coalescing?: boolean };

/**
 * A channel whose setup fails (the connection dropped while it was being set up, say) emits
 * 'error' on its wrapper, and an 'error' nobody listens to ends the process. The wrapper sets
 * itself up again on the next connection, so the failure is logged and not thrown.
 */
export function reportChannelErrors(
  conn: AmqpConnectionManager,
  logger?: Pick<Logger, 'warn'>,
): AmqpConnectionManager {
  const create = conn.createChannel.bind(conn);
  conn.createChannel = (opts = {}) => {
    const wrapper = create(opts);
    wrapper.on('error', (err: Error, info?: { name?: string }) => {
      if (logger)
        logger.warn({ err: err.message, channel: info?.name }, 'broker channel set-up failed');
      else process.emitWarning(`broker channel set-up failed: ${err.message}`);
    });
    return wrapper;
  };
  return conn;
}

/** The broker's nodes: `RABBITMQ_URL` may list a cluster's nodes, comma-separated. */
export function brokerUrls(url: string): string[] {
  return url
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
}
