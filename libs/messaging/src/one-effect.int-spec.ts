import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import { randomUUID } from 'node:crypto';
import { rpcQueueOf } from '@app/contracts';
import { createRpcRequestsTable, createServiceDataSource } from '@app/database';
import { execFileSync } from 'node:child_process';
import {
  eventually,
  rabbitmqctl,
  sleep,
  startRabbitCluster,
  TcpProxy,
  testEnv,
  viaPort,
} from '@app/testing';
import { RpcClient } from './rpc-client';
import { RpcCallError } from './rpc-errors';
import { RpcErrorFilter } from './rpc-exception.filter';
import { RpcRequestLog, RpcRequestSubscriber, WriteOnce } from './rpc-requests';
import { ReliableRmqServer } from './rpc-server';

/**
 * One effect per request, against the real broker and database: writes that are not
 * idempotent by themselves (each call inserts a row) while the broker drops every connection
 * again and again, and while Postgres is slower than the callers' deadline.
 */
const logger = pino({ level: 'silent' });
// A write pattern of a real service (the pattern decides write or read, not the handler).
const CREATE = 'form-copies.copy.create.v1';

async function thingsSchema(name: string, url: string): Promise<DataSource> {
  const ds = createServiceDataSource({
    url,
    schema: name,
    applicationName: name,
    poolMax: 8,
    connectTimeoutMs: 3000,
    subscribers: [RpcRequestSubscriber],
  });
  await ds.initialize();
  await ds.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`);
  await ds.query(`CREATE SCHEMA "${name}"`);
  const q = ds.createQueryRunner();
  await q.query(`SET search_path = "${name}"`);
  await createRpcRequestsTable(q);
  // No constraint on n: every call that reaches the table adds a row.
  await q.query('CREATE TABLE things (id bigserial PRIMARY KEY, n integer NOT NULL)');
  await q.release();
  return ds;
}

async function startServer(
  ds: DataSource,
  opts: { prefetch?: number; slowMs?: number; url?: string } = {},
) {
  @Controller()
  class ThingsController {
    @MessagePattern(CREATE)
    async create(@Payload() p: { n: number }) {
      await ds.transaction(async (m) => {
        await m.query('INSERT INTO things (n) VALUES ($1)', [p.n]);
        if (opts.slowMs) await m.query('SELECT pg_sleep($1)', [opts.slowMs / 1000]);
        await m.query('SELECT 1');
      });
      return { n: p.n };
    }
  }
  @Module({ controllers: [ThingsController] })
  class ThingsModule {}
  const app: INestMicroservice = await NestFactory.createMicroservice(ThingsModule, {
    strategy: new ReliableRmqServer({
      url: opts.url ?? testEnv().rabbitUrl,
      queue: rpcQueueOf('form-copies'),
      prefetch: opts.prefetch ?? 16,
      shutdownGraceMs: 2000,
      logger,
      requests: new WriteOnce(new RpcRequestLog(ds), logger),
    }),
    logger: false,
  });
  app.useGlobalFilters(new RpcErrorFilter(logger));
  await app.listen();
  return app;
}

const rabbitmqctlOn = (node: string, ...args: string[]) =>
  execFileSync('rabbitmqctl', ['-q', '-n', node, ...args], { encoding: 'utf8' });

const rowsPerN = async (ds: DataSource) =>
  new Map(
    (
      await ds.query<Array<{ n: number; c: number }>>(
        'SELECT n, count(*)::int AS c FROM things GROUP BY n',
      )
    ).map((r) => [r.n, r.c]),
  );

describe('one effect per request', () => {
  it('doubles no write while the broker closes every connection again and again', async () => {
    const ds = await thingsSchema(`drops_${randomUUID().slice(0, 6)}`, testEnv().databaseUrl);
    const app = await startServer(ds, { slowMs: 5 });
    const client = new RpcClient({ url: testEnv().rabbitUrl, timeoutMs: 4000 });
    let closing = true;
    let drops = 0;
    const dropper = (async () => {
      await sleep(300);
      while (closing) {
        try {
          rabbitmqctl('close_all_connections', '-p', testEnv().vhost, 'fault drill');
          drops++;
        } catch {
          /* nothing to close at this instant */
        }
        await sleep(400);
      }
    })();
    const ok = new Set<number>();
    const failed = new Set<number>();
    try {
      const total = 1000;
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next < total) {
            const n = next++;
            try {
              await client.send(CREATE as never, { n } as never);
              ok.add(n);
            } catch (err) {
              expect(err).toBeInstanceOf(RpcCallError);
              failed.add(n);
              await sleep(50);
            }
          }
        }),
      );
    } finally {
      closing = false;
      await dropper;
    }
    // Redeliveries still in the queue finish before counting.
    await sleep(1500);
    const rows = await rowsPerN(ds);
    const doubled = [...rows].filter(([, c]) => c > 1);
    expect(doubled).toEqual([]);
    for (const n of ok) expect(rows.get(n)).toBe(1);
    for (const n of failed) expect(rows.get(n) ?? 0).toBeLessThanOrEqual(1);
    expect(ok.size + failed.size).toBe(1000);
    // The drill really hit requests in flight.
    expect(drops).toBeGreaterThanOrEqual(3);
    expect(failed.size).toBeGreaterThan(0);
    await client.close();
    await app.close();
    await ds.destroy();
  });

  it('commits nothing for a request answered 504: Postgres slower than the deadline', async () => {
    const proxy = TcpProxy.forUrl(testEnv().databaseUrl);
    const port = await proxy.start();
    const ds = await thingsSchema(
      `slow_${randomUUID().slice(0, 6)}`,
      viaPort(testEnv().databaseUrl, port),
    );
    const app = await startServer(ds, { prefetch: 4 });
    const client = new RpcClient({ url: testEnv().rabbitUrl, timeoutMs: 3000 });
    try {
      // A round trip to Postgres now takes 600 ms: a transaction of five outlives the deadline.
      proxy.delayMs = 600;
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, n) =>
          client.send(CREATE as never, { n } as never).then(
            () => ({ n, status: 200 }),
            (err: RpcCallError) => ({ n, status: err.body.status }),
          ),
        ),
      );
      expect(answers.filter((a) => a.status === 504).length).toBeGreaterThan(0);
      // Long enough for any handler still running to have committed, had it been allowed to.
      await sleep(8000);
      proxy.delayMs = 0;
      const rows = await rowsPerN(ds);
      for (const a of answers) {
        if (a.status === 504) expect(rows.get(a.n) ?? 0).toBe(0);
        if (a.status === 200) expect(rows.get(a.n)).toBe(1);
      }
      // With the database fast again, the same kind of write goes through.
      await expect(client.send(CREATE as never, { n: 99 } as never)).resolves.toEqual({ n: 99 });
      await eventually(async () => expect((await rowsPerN(ds)).get(99)).toBe(1));
    } finally {
      proxy.delayMs = 0;
      await client.close();
      await app.close();
      await ds.destroy();
      await proxy.stop();
    }
  }, 60_000);

  it('keeps serving, exactly once, when one node of a three-node cluster stops', async () => {
    const cluster = startRabbitCluster();
    const url = cluster.urls.join(',');
    const ds = await thingsSchema(`cluster_${randomUUID().slice(0, 6)}`, testEnv().databaseUrl);
    const app = await startServer(ds, { url });
    const client = new RpcClient({ url, timeoutMs: 3000 });
    try {
      // The RPC queue is a quorum queue with a member on every node.
      const queues = rabbitmqctlOn(cluster.nodes[1], 'list_queues', 'name', 'type', 'members');
      expect(queues).toMatch(/form-copies\.rpc\.v2\s+quorum\s+\[.*,.*,.*\]/);
      const ok = new Set<number>();
      let n = 0;
      const write = async () => {
        const i = n++;
        try {
          await client.send(CREATE as never, { n: i } as never);
          ok.add(i);
          return true;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 50; i++) expect(await write()).toBe(true);
      // The node both sides are connected to (the first URL) goes away.
      cluster.stopNode(0);
      const before = ok.size;
      await eventually(
        async () => {
          await write();
          expect(ok.size - before).toBeGreaterThanOrEqual(50);
        },
        60_000,
        20,
      );
      const rows = await rowsPerN(ds);
      expect([...rows].filter(([, c]) => c > 1)).toEqual([]);
      for (const i of ok) expect(rows.get(i)).toBe(1);
    } finally {
      await client.close();
      await app.close();
      await ds.destroy();
      cluster.stop();
    }
  }, 180_000);
});
