import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** The platform's own series carry this prefix; Node's process series keep their names. */
export const METRIC_PREFIX = 'platform_';

/**
 * One registry per process, labelled with the app's name as `app` (Prometheus' service
 * discovery sets `service` and `job` itself; a label of the same name would be overwritten
 * or renamed to `exported_service`), with a `platform_build_info` series naming the release.
 */
export function createMetricsRegistry(
  app: string,
  build: { version: string; commit?: string } = { version: 'unknown' },
): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ app });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: `${METRIC_PREFIX}build_info`,
    help: 'Always 1; the labels name the running release',
    labelNames: ['version', 'commit', 'node'],
    registers: [registry],
  }).set({ version: build.version, commit: build.commit ?? 'unknown', node: process.version }, 1);
  return registry;
}

/**
 * Gauges read when Prometheus scrapes: the outbox's backlog and its oldest row's age (how
 * far events lag behind the writes that made them), and the dead-letter queue's depth.
 * A read that fails (database or broker away) leaves the series out of that scrape.
 */
export function registerMessagingGauges(
  registry: Registry,
  read: {
    outbox: () => Promise<{ pending: number; oldestAgeSeconds: number }>;
    deadLetters: () => Promise<number | null>;
  },
): void {
  let outbox: Promise<{ pending: number; oldestAgeSeconds: number } | null> | null = null;
  // Both outbox gauges come from one query per scrape.
  const once = () => {
    outbox ??= read
      .outbox()
      .catch(() => null)
      .finally(() => setTimeout(() => (outbox = null), 1000).unref());
    return outbox;
  };
  new Gauge({
    name: `${METRIC_PREFIX}outbox_pending`,
    help: 'Outbox rows written and not yet confirmed by the broker',
    registers: [registry],
    async collect() {
      const o = await once();
      if (o) this.set(o.pending);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}outbox_oldest_pending_age_seconds`,
    help: 'Age of the oldest unpublished outbox row (0 when none)',
    registers: [registry],
    async collect() {
      const o = await once();
      if (o) this.set(o.oldestAgeSeconds);
    },
  });
  new Gauge({
    name: `${METRIC_PREFIX}events_dead_letter_depth`,
    help: "Messages waiting in this consumer's dead-letter queue",
    registers: [registry],
    async collect() {
      const n = await read.deadLetters().catch(() => null);
      if (n !== null) this.set(n);
    },
  });
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
      name: `${METRIC_PREFIX}rpc_requests_total`,
      help: 'RPC requests handled, by pattern and outcome',
      labelNames: ['pattern', 'outcome'],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: `${METRIC_PREFIX}rpc_request_duration_seconds`,
      help: 'RPC handling time',
      labelNames: ['pattern'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    eventsHandled: new Counter({
      name: `${METRIC_PREFIX}events_handled_total`,
      help: 'Events consumed, by name and outcome (ok, duplicate, retry, dead_lettered)',
      labelNames: ['event', 'outcome'],
      registers: [registry],
    }),
    outboxPublished: new Counter({
      name: `${METRIC_PREFIX}outbox_published_total`,
      help: 'Outbox rows relayed to the broker and confirmed',
      labelNames: ['event'],
      registers: [registry],
    }),
  };
}

export interface HttpMetrics {
  requests: Counter<'method' | 'route' | 'status'>;
  duration: Histogram<'method' | 'route'>;
  rpcErrors: Counter<'target' | 'code'>;
  rpcDuration: Histogram<'target' | 'outcome'>;
}

/**
 * The gateway's HTTP series, by route template (never the raw URL: ids would explode the
 * label set), and the RPC failures it answered with (timeouts, unreachable services).
 */
export function createHttpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: new Counter({
      name: `${METRIC_PREFIX}http_requests_total`,
      help: 'HTTP requests answered, by method, route template and status',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    duration: new Histogram({
      name: `${METRIC_PREFIX}http_request_duration_seconds`,
      help: 'HTTP request time, by method and route template',
      labelNames: ['method', 'route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    rpcErrors: new Counter({
      name: `${METRIC_PREFIX}rpc_client_errors_total`,
      help: 'RPCs the gateway sent that failed, by target service and code (timeout, unavailable, ...)',
      labelNames: ['target', 'code'],
      registers: [registry],
    }),
    rpcDuration: new Histogram({
      name: `${METRIC_PREFIX}rpc_client_duration_seconds`,
      help: 'RPC round trips the gateway made, by target service and outcome (ok, error)',
      labelNames: ['target', 'outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
