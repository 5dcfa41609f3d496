import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { lint, loadConfig } from '@redocly/openapi-core';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTRACT_SCHEMAS_FILE, contractSchemas } from '../tools/openapi';
import { plainToInstance } from 'class-transformer';
import { validate } from 'class-validator';
import { bodyExamples } from '../apps/gateway/src/openapi/openapi';
import { startGateway } from './harness';

const KEY = 'openapi-test-key-0123456789';
const CLIENT_FILE = 'libs/testing/src/gateway-api.ts';
const root = join(__dirname, '..');
const committed = (file: string) => readFileSync(join(root, file), 'utf8');

/**
 * The contract callers generate from: openapi.json is what the gateway serves, passes
 * Redocly's recommended rules with no error, and the generated client and response schemas
 * are in sync with it and with the contracts' types.
 */
// The checks of the committed files need no gateway: they run first, before one is started
// (they are CPU-heavy, and a blocked event loop misses the broker's heartbeats).
describe('the OpenAPI contract', () => {
  it('passes Redocly’s recommended rules with no error', async () => {
    const problems = await lint({ ref: join(root, 'openapi.json'), config: await loadConfig({}) });
    const errors = problems
      .filter((p) => p.severity === 'error')
      .map((p) => `${p.ruleId}: ${p.message} (${p.location[0]?.pointer})`);
    expect(errors).toEqual([]);
  });

  it('documents scopes, errors and the headers routes read', () => {
    const doc = JSON.parse(committed('openapi.json')) as {
      openapi: string;
      paths: Record<
        string,
        Record<
          string,
          {
            security?: unknown[];
            responses: object;
            parameters?: Array<{ name: string }>;
            'x-required-scopes'?: string[];
          }
        >
      >;
    };
    expect(doc.openapi).toBe('3.1.0');
    const ops = Object.entries(doc.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, op]) => ({ path, method, op })),
    );
    for (const { path, op } of ops) {
      if (path.startsWith('/health')) {
        expect(op.security).toEqual([]);
        continue;
      }
      if (path.startsWith('/api/v1/r/')) {
        // A recipient's link token is the credential.
        expect(op.security).toEqual([]);
        expect((op as { description?: string }).description).toContain('secret link token');
        continue;
      }
      if (path === '/api/v1/integrations/google/gmail/push') {
        // Pub/Sub's OIDC token is the credential; there is no key, so no scope to lack.
        expect(op.security).toEqual([{ 'google-oidc': [] }]);
        expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '500']));
        continue;
      }
      expect(op.security?.length).toBeGreaterThan(0);
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['401', '403', '500']));
    }
    const patch = doc.paths['/api/v1/copies/{id}'].patch;
    expect(patch.parameters?.map((p) => p.name)).toEqual(
      expect.arrayContaining(['If-Match', 'Lease-Token']),
    );
    expect(patch['x-required-scopes']).toEqual(['copies:write']);
    const recipient = doc.paths['/api/v1/r/{token}/complete'].post;
    expect(recipient.parameters?.map((p) => p.name)).toContain('X-Access-Code');
  });

  it('has its generated client and response schemas in sync', async () => {
    expect(contractSchemas()).toBe(committed(CONTRACT_SCHEMAS_FILE));
    // The client's types, as openapi-typescript's own command writes them.
    const dir = mkdtempSync(join(tmpdir(), 'openapi-client-'));
    try {
      const out = join(dir, 'gateway-api.ts');
      // Not execFileSync: a blocked event loop misses the broker's heartbeats, and the
      // gateway's connection then has to be torn down mid-reconnect when the suite closes it.
      await promisify(execFile)(process.execPath, [
        join(root, 'node_modules/openapi-typescript/bin/cli.js'),
        join(root, 'openapi.json'),
        '-o',
        out,
      ]);
      expect(readFileSync(out, 'utf8')).toBe(committed(CLIENT_FILE));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the OpenAPI the gateway serves', () => {
  let gateway: NestFastifyApplication;

  beforeAll(async () => {
    gateway = await startGateway({ MESSAGING_PREFIX: 'oa.', DEV_API_KEY: KEY });
  });
  afterAll(() => gateway?.close());

  it('is what the gateway serves (run npm run openapi:sync after changing a route)', async () => {
    const res = await gateway.inject({
      method: 'GET',
      url: '/docs/openapi.json',
      headers: { 'x-api-key': KEY },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual(JSON.parse(committed('openapi.json')));
  });

  it('shows an example for every request body, each one the route accepts', async () => {
    const examples = bodyExamples(gateway);
    expect(examples.length).toBeGreaterThan(20);
    for (const { cls, example } of examples) {
      expect([cls.name, example === undefined]).toEqual([cls.name, false]);
      const errors = await validate(plainToInstance(cls, example) as object, {
        whitelist: true,
        forbidNonWhitelisted: true,
        forbidUnknownValues: true,
      });
      expect([cls.name, errors.map((e) => e.toString())]).toEqual([cls.name, []]);
    }
  });
});
