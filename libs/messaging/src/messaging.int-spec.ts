import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestMicroservice } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { rpcPatterns, rpcQueueOf } from '@app/contracts';
import { createMessagingTables, createServiceDataSource } from '@app/database';
import { currentCorrelationId, runWithContext } from '@app/observability';
import { eventually, rabbitmqctl, sleep, TcpProxy, testEnv, viaPort } from '@app/testing';
import { EventBus, type EventBusOptions, PermanentEventError } from './event-bus';
import { Outbox, OutboxRelay } from './outbox';
import { RpcClient } from './rpc-client';
import { rpcError, RpcCallError } from './rpc-errors';
import { ReliableRmqServer } from './rpc-server';
import amqp from 'amqplib';
import { connect as amqpConnect } from 'amqp-connection-manager';
import { amqpConnectionOptions, eventQueueNames, reportChannelErrors } from './topology';

const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

interface TestEvents {
  'test.thing.happened.v1': { n: number };
  'test.poison.happened.v1': { n: number };
  'test.invalid.happened.v1': { n: number };
  'test.typed.happened.v1': { n: number };
  'test.flaky.happened.v1': { n: number };
}

/** A schema of its own with the outbox and a table of effects. */
async function schemaWithTables(name: string, url = testEnv().databaseUrl): Promise<DataSource> {
  const ds = createServiceDataSource({
    url,
    schema: name,
    applicationName: name,
    poolMax: 4,
    connectTimeoutMs: 2000,
  });
  await ds.initialize();
  const q = ds.createQueryRunner();
  await q.query(`CREATE SCHEMA IF NOT EXISTS "${name}"`);
  await q.query(`SET search_path = "${name}"`);
  await createMessagingTables(q);
  await q.query('CREATE TABLE effects (n integer PRIMARY KEY, event_id text NOT NULL UNIQUE)');
  await q.release();
  return ds;
}

function busOptions(consumer: string, over: Partial<EventBusOptions> = {}): EventBusOptions {
  return {
    url: testEnv().rabbitUrl,
    consumer,
    prefetch: 20,
    maxAttempts: 3,
    retryDelaysMs: [100, 200],
    shutdownGraceMs: 5000,
    logger,
    ...over,
  };
}

async function writeEvents(
  ds: DataSource,
  outbox: Outbox<TestEvents>,
  from: number,
  count: number,
) {
  for (let i = from; i < from + count; i++) {
    await ds.transaction((m) => outbox.add(m, 'test.thing.happened.v1', { n: i }));
  }
}

async function countEffects(ds: DataSource): Promise<{ rows: number; distinct: number }> {
  const [r] = await ds.query<Array<{ rows: number; distinct: number }>>(
    'SELECT count(*)::int AS rows, count(DISTINCT n)::int AS distinct FROM effects',
  );
  return r;
}

async function queueDepth(queue: string): Promise<number> {
  const conn = await amqp.connect(testEnv().rabbitUrl);
  try {
    const ch = await conn.createChannel();
    const { messageCount } = await ch.checkQueue(queue);
    return messageCount;
  } finally {
    await conn.close();
  }
}

describe('RPC over RabbitMQ', () => {
  @Controller()
  class EchoController {
    @MessagePattern(rpcPatterns.status('extraction'))
    status() {
      return { service: 'extraction', correlationId: currentCorrelationId() };
    }
    @MessagePattern(rpcPatterns.outboxEvent('extraction'))
    missing() {
      throw rpcError('not_found', 'no such event');
    }
  }
  @Module({ controllers: [EchoController] })
  class EchoModule {}

  let app: INestMicroservice;
  let client: RpcClient;

  beforeAll(async () => {
    const env = testEnv();
    app = await NestFactory.createMicroservice(EchoModule, {
      strategy: new ReliableRmqServer({
        url: env.rabbitUrl,
        queue: rpcQueueOf('extraction'),
        prefetch: 8,
        shutdownGraceMs: 2000,
        logger,
      }),
      logger: false,
    });
    await app.listen();
    client = new RpcClient({ url: env.rabbitUrl, timeoutMs: 3000 });
  });
  afterAll(async () => {
    await client.close();
    await app.close();
  });

  it('answers, carrying the caller correlation id into the handler', async () => {
    const res = (await runWithContext({ correlationId: 'corr-123' }, () =>
      client.send(rpcPatterns.status('extraction'), {}),
    )) as unknown as { service: string; correlationId: string };
    expect(res).toEqual({ service: 'extraction', correlationId: 'corr-123' });
  });

  it('delivers a typed domain error to the caller', async () => {
    const err = await client
      .send(rpcPatterns.outboxEvent('extraction'), { id: 'x' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcCallError);
    expect((err as RpcCallError).body).toMatchObject({
      code: 'not_found',
      status: 404,
      message: 'no such event',
    });
  });

  it('times out instead of hanging when no service consumes the queue', async () => {
    const started = Date.now();
    const err = await client
      .send(rpcPatterns.status('form-copies'), {}, { timeoutMs: 300 })
      .catch((e: unknown) => e);
    expect((err as RpcCallError).body.code).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(5000);
    // The request expires in the queue too: nobody will work on it later.
    await eventually(async () => expect(await queueDepth(rpcQueueOf('form-copies'))).toBe(0), 5000);
  });
});

describe('RPC shutdown', () => {
  @Controller()
  class SlowController {
    @MessagePattern(rpcPatterns.status('pdf-workflow'))
    async slow() {
      await sleep(600);
      return { service: 'pdf-workflow', finished: true };
    }
  }
  @Module({ controllers: [SlowController] })
  class SlowModule {}

  it('answers the requests in flight before it stops, and takes no new ones', async () => {
    const env = testEnv();
    const app = await NestFactory.createMicroservice(SlowModule, {
      strategy: new ReliableRmqServer({
        url: env.rabbitUrl,
        queue: rpcQueueOf('pdf-workflow'),
        prefetch: 8,
        shutdownGraceMs: 5000,
        logger,
      }),
      logger: false,
    });
    await app.listen();
    const client = new RpcClient({ url: env.rabbitUrl, timeoutMs: 5000 });
    try {
      const inFlight = client.send(rpcPatterns.status('pdf-workflow'), {});
      await sleep(200);
      const closing = app.close();
      await expect(inFlight).resolves.toEqual({ service: 'pdf-workflow', finished: true });
      await closing;
      const late = await client
        .send(rpcPatterns.status('pdf-workflow'), {}, { timeoutMs: 300 })
        .catch((e: unknown) => e);
      expect((late as RpcCallError).body.code).toBe('timeout');
    } finally {
      await client.close();
    }
  });
});

describe('events: outbox, relay, bus', () => {
  const opened: Array<
    { close(): Promise<void> } | { stop(): Promise<void> } | { destroy(): Promise<void> }
  > = [];
  const track = <T extends object>(x: T): T => {
    opened.unshift(x as never);
    return x;
  };
  afterEach(async () => {
    for (const x of opened.splice(0)) {
      if ('stop' in x) await x.stop();
      else if ('close' in x) await x.close();
      else await x.destroy();
    }
  });

  /**
   * A consumer whose effect is one row per event, de-duplicated the way services do it: by
   * the state it changes (a unique event id; a repeat changes nothing).
   */
  function consumer(ds: DataSource, bus: EventBus<TestEvents>, calls: { n: number }) {
    bus.on('test.thing.happened.v1', async (p, ctx) => {
      calls.n++;
      await ds.query(
        'INSERT INTO effects (n, event_id) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING',
        [p.n, ctx.envelope.id],
      );
    });
  }

  it('delivers every event exactly once in effect while connections are dropped mid-stream', async () => {
    const env = testEnv();
    const ds = track(await schemaWithTables('drop_test'));
    const outbox = new Outbox<TestEvents>('drop_test');
    // Count the connection losses the consumer saw, to be sure the drops hit mid-stream.
    const lines: string[] = [];
    const watching = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const consumerBus = track(
      new EventBus<TestEvents>(
        busOptions(`drop-${randomUUID().slice(0, 6)}`, { logger: watching }),
      ),
    );
    const calls = { n: 0 };
    consumer(ds, consumerBus, calls);
    await consumerBus.start();
    const publisherBus = track(new EventBus<TestEvents>(busOptions('drop-publisher')));
    const relay = track(
      new OutboxRelay(ds, (e) => publisherBus.publish(e), {
        schema: 'drop_test',
        databaseUrl: env.databaseUrl,
        pollMs: 100,
        batchSize: 50,
        logger,
      }),
    );
    relay.start();

    const total = 600;
    for (let round = 0; round < 3; round++) {
      const writing = writeEvents(ds, outbox, round * 200, 200);
      await sleep(100);
      rabbitmqctl('close_all_connections', '--vhost', env.vhost, '--limit', '1000', 'failure test');
      await writing;
      await eventually(() =>
        expect(consumerBus.isConnected() && publisherBus.isConnected()).toBe(true),
      );
    }
    await eventually(
      async () => expect(await countEffects(ds)).toEqual({ rows: total, distinct: total }),
      45000,
      250,
    );
    expect(
      lines.filter((l) => l.includes('lost its broker connection')).length,
    ).toBeGreaterThanOrEqual(3);
    const [{ unpublished }] = await ds.query<Array<{ unpublished: number }>>(
      'SELECT count(*)::int AS unpublished FROM outbox WHERE published_at IS NULL',
    );
    expect(unpublished).toBe(0);
    // Redeliveries happened or not; either way each event had one effect.
    expect(calls.n).toBeGreaterThanOrEqual(total);
  });

  it('parks an always-failing event in the dead-letter queue after the retry limit while others flow', async () => {
    const ds = track(await schemaWithTables('dlq_test'));
    const outbox = new Outbox<TestEvents>('dlq_test');
    const name = `dlq-${randomUUID().slice(0, 6)}`;
    const bus = track(new EventBus<TestEvents>(busOptions(name, { maxAttempts: 3 })));
    const calls = { n: 0 };
    consumer(ds, bus, calls);
    let poisonAttempts = 0;
    bus.on('test.poison.happened.v1', async () => {
      poisonAttempts++;
      throw new Error('this handler always fails');
    });
    await bus.start();
    const relay = track(
      new OutboxRelay(ds, (e) => bus.publish(e), {
        schema: 'dlq_test',
        databaseUrl: testEnv().databaseUrl,
        pollMs: 100,
        logger,
      }),
    );
    relay.start();

    await ds.transaction((m) => outbox.add(m, 'test.poison.happened.v1', { n: -1 }));
    await writeEvents(ds, outbox, 0, 50);

    await eventually(async () =>
      expect(await countEffects(ds)).toEqual({ rows: 50, distinct: 50 }),
    );
    await eventually(async () => expect(await queueDepth(eventQueueNames(name).dlq)).toBe(1));
    expect(poisonAttempts).toBe(3);

    const conn = await amqp.connect(testEnv().rabbitUrl);
    const ch = await conn.createChannel();
    const parked = await ch.get(eventQueueNames(name).dlq, { noAck: true });
    await conn.close();
    expect(parked).not.toBe(false);
    if (parked === false) return;
    expect(JSON.parse(parked.content.toString())).toMatchObject({
      name: 'test.poison.happened.v1',
      payload: { n: -1 },
    });
    expect(parked.properties.headers?.['x-dead-letter-reason']).toBe('this handler always fails');
    expect(parked.properties.headers?.['x-attempt']).toBe(3);
  });

  it('dead-letters an invalid event on its first delivery, and still retries a transient failure', async () => {
    const name = `poison-${randomUUID().slice(0, 6)}`;
    const bus = track(
      new EventBus<TestEvents>(busOptions(name, { maxAttempts: 5, retryDelaysMs: [100] })),
    );
    const seen = { invalid: 0, typed: 0, flaky: 0 };
    bus.on('test.invalid.happened.v1', async () => {
      seen.invalid++;
      throw new PermanentEventError('n must be positive');
    });
    bus.on('test.typed.happened.v1', async () => {
      seen.typed++;
      throw rpcError('validation_failed', 'the payload has no id');
    });
    bus.on('test.flaky.happened.v1', async () => {
      if (++seen.flaky === 1) throw new Error('database briefly away');
    });
    await bus.start();
    const publish = (n: string) =>
      bus.publish({ id: randomUUID(), name: n, payload: {}, occurredAt: new Date().toISOString() });
    await publish('test.invalid.happened.v1');
    await publish('test.typed.happened.v1');
    await publish('test.flaky.happened.v1');
    await eventually(async () => expect(await queueDepth(eventQueueNames(name).dlq)).toBe(2));
    await eventually(() => expect(seen.flaky).toBe(2));
    expect(seen).toEqual({ invalid: 1, typed: 1, flaky: 2 });
    const conn = await amqp.connect(testEnv().rabbitUrl);
    const ch = await conn.createChannel();
    const reasons: string[] = [];
    for (let i = 0; i < 2; i++) {
      const m = await ch.get(eventQueueNames(name).dlq, { noAck: true });
      if (m === false) break;
      expect(m.properties.headers?.['x-attempt']).toBe(1);
      reasons.push(String(m.properties.headers?.['x-dead-letter-reason']));
    }
    await conn.close();
    expect(reasons.sort()).toEqual([
      'permanent: n must be positive',
      'permanent: the payload has no id',
    ]);
  });

  it('delivers an event written while the broker is away once it returns', async () => {
    const env = testEnv();
    const proxy = new TcpProxy('127.0.0.1', Number(new URL(env.rabbitUrl).port || 5672));
    const port = await proxy.start();
    track(proxy);
    const ds = track(await schemaWithTables('away_test'));
    const outbox = new Outbox<TestEvents>('away_test');
    const bus = track(new EventBus<TestEvents>(busOptions(`away-${randomUUID().slice(0, 6)}`)));
    const calls = { n: 0 };
    consumer(ds, bus, calls);
    await bus.start();
    // The publisher reaches the broker only through the proxy.
    const publisher = track(
      new EventBus<TestEvents>(
        busOptions('away-publisher', { url: viaPort(env.rabbitUrl, port), publishTimeoutMs: 1000 }),
      ),
    );
    await eventually(() => expect(publisher.isConnected()).toBe(true));
    const relay = track(
      new OutboxRelay(ds, (e) => publisher.publish(e), {
        schema: 'away_test',
        databaseUrl: env.databaseUrl,
        pollMs: 100,
        logger,
      }),
    );
    relay.start();

    await proxy.cut();
    await eventually(() => expect(publisher.isConnected()).toBe(false));
    await writeEvents(ds, outbox, 0, 5);
    await sleep(1500);
    expect((await countEffects(ds)).rows).toBe(0);
    const [{ pending }] = await ds.query<Array<{ pending: number }>>(
      'SELECT count(*)::int AS pending FROM outbox WHERE published_at IS NULL',
    );
    expect(pending).toBe(5);

    await proxy.restore();
    await eventually(
      async () => expect(await countEffects(ds)).toEqual({ rows: 5, distinct: 5 }),
      40000,
      250,
    );
  });

  it('finishes a handler in progress on shutdown instead of abandoning it', async () => {
    const ds = track(await schemaWithTables('drain_test'));
    const outbox = new Outbox<TestEvents>('drain_test');
    const name = `drain-${randomUUID().slice(0, 6)}`;
    const bus = new EventBus<TestEvents>(busOptions(name));
    let started = false;
    let finished = false;
    bus.on('test.thing.happened.v1', async () => {
      started = true;
      await sleep(800);
      finished = true;
    });
    await bus.start();
    const publisher = track(new EventBus<TestEvents>(busOptions('drain-publisher')));
    const relay = track(
      new OutboxRelay(ds, (e) => publisher.publish(e), {
        schema: 'drain_test',
        databaseUrl: testEnv().databaseUrl,
        pollMs: 100,
        logger,
      }),
    );
    relay.start();
    await writeEvents(ds, outbox, 0, 1);
    await eventually(() => expect(started).toBe(true));
    await bus.close();
    expect(finished).toBe(true);
    // It was acked before the connection closed: nothing is left to redeliver.
    expect(await queueDepth(eventQueueNames(name).main)).toBe(0);
  });

  it('marks nothing published that the broker did not confirm', async () => {
    const ds = track(await schemaWithTables('confirm_test'));
    const outbox = new Outbox<TestEvents>('confirm_test');
    let fail = true;
    const relay = track(
      new OutboxRelay(
        ds,
        async () => {
          if (fail) throw new Error('not confirmed');
        },
        { schema: 'confirm_test', databaseUrl: testEnv().databaseUrl, pollMs: 50, logger },
      ),
    );
    await writeEvents(ds, outbox, 0, 3);
    await relay.drain();
    const rows = await ds.query<
      Array<{ published_at: Date | null; attempts: number; last_error: string }>
    >('SELECT published_at, attempts, last_error FROM outbox');
    expect(
      rows.every(
        (r) => r.published_at === null && r.attempts === 1 && r.last_error === 'not confirmed',
      ),
    ).toBe(true);
    fail = false;
    await relay.drain();
    const [{ unpublished }] = await ds.query<Array<{ unpublished: number }>>(
      'SELECT count(*)::int AS unpublished FROM outbox WHERE published_at IS NULL',
    );
    expect(unpublished).toBe(0);
  });
});

describe('channel set-up failures', () => {
  it('are logged, not thrown: an error event nobody listens to would end the process', async () => {
    const warned: string[] = [];
    const conn = reportChannelErrors(amqpConnect([testEnv().rabbitUrl], amqpConnectionOptions()), {
      warn: (o: object) => void warned.push(JSON.stringify(o)),
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      // What amqplib answers when the connection drops while a channel is being set up.
      const wrapper = conn.createChannel({
        setup: () => Promise.reject(new Error('Channel ended, no reply will be forthcoming')),
      });
      await eventually(() => expect(warned.join()).toContain('Channel ended'));
      await sleep(100);
      expect(unhandled).toEqual([]);
      await wrapper.close();
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await conn.close();
    }
  });
});
