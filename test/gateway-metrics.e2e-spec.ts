import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@app/health';
import { startMetricsServer } from '../apps/gateway/src/metrics-server';
import { startGateway } from './harness';

const KEY = 'gateway-metrics-key-0123456789';

/** The gateway's own series, and a metrics port Prometheus can scrape without a key. */
describe('gateway metrics', () => {
  let gateway: NestFastifyApplication;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    gateway = await startGateway({
      MESSAGING_PREFIX: 'gm.',
      DEV_API_KEY: KEY,
      RPC_TIMEOUT_MS: '300',
    });
    server = startMetricsServer(gateway.get<Registry>(METRICS_REGISTRY), 0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.close();
    await gateway?.close();
  });

  it('counts requests by route template and status, and RPC failures by service and code', async () => {
    await gateway.inject({ method: 'GET', url: '/health/live' });
    // No service listens on this prefix: the RPC times out (a 504) and is counted.
    const id = randomUUID();
    const r = await gateway.inject({
      method: 'GET',
      url: `/api/v1/document-uploads/${id}`,
      headers: { 'x-api-key': KEY },
    });
    expect(r.statusCode).toBe(504);
    const res = await fetch(`${url}/metrics`); // no key: this port is Prometheus'
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(
      /platform_http_requests_total\{[^}]*route="\/health\/live"[^}]*status="200"/,
    );
    expect(text).toMatch(
      /platform_http_requests_total\{[^}]*route="\/api\/v1\/document-uploads\/:id"[^}]*status="504"/,
    );
    expect(text).not.toContain(id); // route templates, never raw ids
    expect(text).toMatch(
      /platform_rpc_client_errors_total\{[^}]*target="upload-status"[^}]*code="timeout"/,
    );
    expect(text).toMatch(
      /platform_rpc_client_duration_seconds_count\{[^}]*target="upload-status"[^}]*outcome="error"/,
    );
    expect(text).toMatch(/platform_build_info\{[^}]*version="[^"]+"[^}]*app="gateway"\} 1/);
    expect((await fetch(`${url}/anything`)).status).toBe(404);
  });
});
