import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { type ChildProcess, spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import { Keyring } from '@app/crypto';
import { serviceDataSource } from '@app/service-kit';
import { eventually, freePort, sleep, testEnv, testServiceConfig } from '@app/testing';
import { formCopiesSchema } from '../apps/form-copies/src/config';
import { FormCopiesService } from '../apps/form-copies/src/form-copies.module';
import { startService } from './harness';

/**
 * The gateway as its own process, stopped with SIGTERM while 200 writes are in flight on
 * keep-alive connections: readiness turns 503 first, every write answered 2xx has its
 * effect, and the process exits by itself (code 0) inside its grace period.
 */
const KEY = 'shutdown-test-key-0123456789abcdef';
const PREFIX = 'sd.';
const DRAIN_DELAY_MS = 1000;
const GRACE_MS = 10_000;

type Answer = { status: number; body: string };

describe('gateway shutdown', () => {
  let services: NestFastifyApplication[];
  let ds: DataSource;

  beforeAll(async () => {
    const config = testServiceConfig(
      { MESSAGING_PREFIX: PREFIX, ENCRYPTION_KEYS: `k1:${Keyring.generateKey()}` },
      formCopiesSchema,
    );
    services = await startService(FormCopiesService, config);
    ds = serviceDataSource(FormCopiesService, config);
    await ds.initialize();
  });

  afterAll(async () => {
    for (const s of services ?? []) await s.close();
    await ds?.destroy();
  });

  it('drains on SIGTERM: readiness first, every 2xx done, exit 0 within the grace', async () => {
    const port = await freePort();
    const t = testEnv();
    const gateway: ChildProcess = spawn(
      process.execPath,
      ['-r', '@swc-node/register', 'apps/gateway/src/main.ts'],
      {
        cwd: join(__dirname, '..'),
        env: {
          ...process.env,
          SWC_NODE_PROJECT: 'tsconfig.json',
          NODE_ENV: 'test',
          LOG_LEVEL: 'silent',
          RABBITMQ_URL: t.rabbitUrl,
          MESSAGING_PREFIX: PREFIX,
          PORT: String(port),
          HOST: '127.0.0.1',
          DEV_API_KEY: KEY,
          RATE_LIMIT_PER_MINUTE: '100000',
          DRAIN_DELAY_MS: String(DRAIN_DELAY_MS),
          SHUTDOWN_GRACE_MS: String(GRACE_MS),
        },
        stdio: 'ignore',
      },
    );
    const exited = new Promise<number | null>((resolve) => gateway.on('exit', (c) => resolve(c)));
    const agent = new Agent({ keepAlive: true, maxSockets: 40 });
    const call = (
      method: string,
      path: string,
      body?: object,
      via: Agent | false = agent,
    ): Promise<Answer> =>
      new Promise((resolve) => {
        const payload = body ? JSON.stringify(body) : undefined;
        const req = request(
          {
            host: '127.0.0.1',
            port,
            method,
            path,
            agent: via,
            headers: {
              'x-api-key': KEY,
              ...(payload
                ? {
                    'content-type': 'application/json',
                    'content-length': Buffer.byteLength(payload),
                  }
                : {}),
            },
          },
          (res) => {
            let data = '';
            res.on('data', (d: Buffer) => (data += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
          },
        );
        req.on('error', () => resolve({ status: 0, body: '' }));
        req.end(payload);
      });
    try {
      await eventually(
        async () => expect((await call('GET', '/health/ready')).status).toBe(200),
        45_000,
        250,
      );
      expect(
        (await call('PUT', '/api/v1/owners/sd-owner/feature-flags', { copies: true })).status,
      ).toBe(200);
      const form = await call('POST', '/api/v1/application-forms', { ownerId: 'sd-owner' });
      expect(form.status).toBe(201);
      const formId = (JSON.parse(form.body) as { applicationForm: { id: string } }).applicationForm
        .id;

      // 200 writes on 40 keep-alive connections, then SIGTERM while they are in flight.
      const writes = Array.from({ length: 200 }, (_, i) =>
        call('POST', `/api/v1/application-forms/${formId}/copies`, { title: `sd-${i}` }).then(
          (a) => ({ ...a, i }),
        ),
      );
      await sleep(20);
      gateway.kill('SIGTERM');
      // During the drain delay readiness says 503 while requests are still served.
      const ready = await call('GET', '/health/ready', undefined, false);
      expect(ready.status).toBe(503);
      const during = await call(
        'GET',
        `/api/v1/application-forms/${formId}/copies`,
        undefined,
        false,
      );
      expect(during.status).toBe(200);
      const answers = await Promise.all(writes);

      const code = await Promise.race([
        exited,
        sleep(DRAIN_DELAY_MS + GRACE_MS + 5000).then(() => 'hung'),
      ]);
      expect(code).toBe(0);
      const ok = answers.filter((a) => a.status === 201);
      expect(ok.length).toBeGreaterThan(0);
      const titles = new Set(
        (
          await ds.query<Array<{ title: string }>>(
            `SELECT title FROM form_copies.copies WHERE application_form_id = $1`,
            [formId],
          )
        ).map((r) => r.title),
      );
      for (const a of ok) expect(titles.has(`sd-${a.i}`)).toBe(true);
      // What was refused once the listener closed never reached the service.
      for (const a of answers.filter((x) => x.status !== 201)) {
        expect([0, 503]).toContain(a.status);
        expect(titles.has(`sd-${a.i}`)).toBe(false);
      }
    } finally {
      agent.destroy();
      if (gateway.exitCode === null) gateway.kill('SIGKILL');
    }
  }, 90_000);
});
