import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** One registry per process, labelled with the app's name. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export interface MessagingMetrics {
  rpcHandled: Counter<'pattern' | 'outcome'>;
  rpcDuration: Histogram<'pattern'>;
  eventsHandled: Counter<'event' | 'outcome'>;
  outboxPublished: Counter<'event'>;
}

export function createMessagingMetrics(registry: Registry): MessagingMetrics {
  return {
    rpcHandled: new Counter({
      name: 'rpc_requests_total',
      help: 'RPC requests handled, by pattern and outcome',
      labelNames: ['pattern', 'outcome'],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: 'rpc_request_duration_seconds',
      help: 'RPC handling time',
      labelNames: ['pattern'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventsHandled: new Counter({
      name: 'events_handled_total',
      help: 'Events consumed, by name and outcome (ok, duplicate, retry, dead_lettered)',
      labelNames: ['event', 'outcome'],
      registers: [registry],
    }),
    outboxPublished: new Counter({
      name: 'outbox_published_total',
      help: 'Outbox rows relayed to the broker and confirmed',
      labelNames: ['event'],
      registers: [registry],
    }),
  };
}

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  rpcErrors: Counter<'service' | 'code'>;
}

/**
 * The gateway's HTTP series, by route template (never the raw URL: ids would explode the
 * label set), and the RPC failures it answered with (timeouts, unreachable services).
 */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request time, by method and route template',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    rpcErrors: new Counter({
      name: 'rpc_client_errors_total',
      help: 'RPCs the gateway sent that failed, by service and code (timeout, unavailable, ...)',
      labelNames: ['service', 'code'],
      registers: [registry],
    }),
  };
}
