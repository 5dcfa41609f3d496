import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

/**
 * Prometheus' own door: `/metrics` on an internal port with no key, for the scrape (pod
 * annotations, a PodMonitor). The public port keeps `/metrics` behind `metrics:read`.
 */
export function startMetricsServer(registry: Registry, port: number, host: string): Server {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      () => res.writeHead(500).end(),
    );
  });
  server.listen(port, host);
  return server;
}
