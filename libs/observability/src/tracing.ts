import {
  type Attributes,
  type Context,
  context,
  propagation,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
  type TracerProvider,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchSpanProcessor,
  type SpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { instrumentPg } from './pg-tracing';

export { SpanKind, SpanStatusCode };
export type { Span };

const TRACER = 'document-platform';
let contextReady = false;
let provider: NodeTracerProvider | null = null;

/**
 * W3C trace context is always read and passed on (a caller's trace continues through the
 * platform even when it exports nothing); spans are recorded and exported only when an
 * exporter is configured with the standard variables: `OTEL_TRACES_EXPORTER=otlp` or an
 * `OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (the exporter reads
 * the rest: headers, timeout). `OTEL_SDK_DISABLED=true` turns it off. Off by default, so
 * tests and local runs pay nothing.
 */
export function setupTracing(
  serviceName: string,
  opts: { exporter?: SpanExporter; env?: NodeJS.ProcessEnv } = {},
): { enabled: boolean; shutdown: () => Promise<void> } {
  const env = opts.env ?? process.env;
  // Disabled: not even trace context is passed on (the API stays a no-op throughout).
  if (env.OTEL_SDK_DISABLED === 'true' && !opts.exporter)
    return { enabled: false, shutdown: async () => undefined };
  ensureContext();
  const wanted =
    opts.exporter !== undefined ||
    (env.OTEL_SDK_DISABLED !== 'true' &&
      (env.OTEL_TRACES_EXPORTER === 'otlp' ||
        !!env.OTEL_EXPORTER_OTLP_ENDPOINT ||
        !!env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT));
  if (!wanted || provider) return { enabled: !!provider, shutdown: async () => undefined };
  provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? serviceName }),
    spanProcessors: [
      opts.exporter
        ? new SimpleSpanProcessor(opts.exporter)
        : new BatchSpanProcessor(new OTLPTraceExporter()),
    ],
  });
  useTracerProvider(provider);
  const p = provider;
  return {
    enabled: true,
    shutdown: async () => {
      await p.shutdown();
      if (provider === p) provider = null;
    },
  };
}

/** Installs a provider made elsewhere (tests: one with an in-memory exporter). */
export function useTracerProvider(p: TracerProvider): void {
  ensureContext();
  trace.setGlobalTracerProvider(p);
  instrumentPg();
}

function ensureContext(): void {
  if (contextReady) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  contextReady = true;
}

/** Header values as amqplib and Node's http give them: strings, arrays or Buffers. */
const getter: TextMapGetter<Record<string, unknown>> = {
  keys: (c) => Object.keys(c),
  get: (c, key) => {
    const v = c[key] ?? c[key.toLowerCase()];
    const one = Array.isArray(v) ? (v[0] as unknown) : v;
    if (Buffer.isBuffer(one)) return one.toString('utf8');
    return typeof one === 'string' ? one : undefined;
  },
};

/** The trace context carried by these headers (the active one when they carry none). */
export function extractTrace(headers: Record<string, unknown> | undefined): Context {
  return propagation.extract(context.active(), headers ?? {}, getter);
}

/** `traceparent` (and `tracestate`) of the active span, to put in message headers. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const out: Record<string, string> = {};
  propagation.inject(ctx, out);
  return out;
}

/**
 * Runs `fn` in a new span (child of `parent`, else of the active span), ended when `fn`
 * settles; an error marks the span and is rethrown.
 */
export async function inSpan<T>(
  name: string,
  opts: { kind: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  const { span, context: ctx } = startSpan(name, opts);
  try {
    return await context.with(ctx, () => fn(span));
  } catch (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
    throw err;
  } finally {
    span.end();
  }
}

/** Starts a span the caller ends (for lifecycles a callback cannot wrap: HTTP hooks). */
export function startSpan(
  name: string,
  opts: { kind: SpanKind; attributes?: Attributes; parent?: Context },
): { span: Span; context: Context } {
  const parent = opts.parent ?? context.active();
  const span = trace
    .getTracer(TRACER)
    .startSpan(name, { kind: opts.kind, attributes: opts.attributes }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** Runs `fn` with `ctx` active (its async continuations too). */
export function withTraceContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/** The active trace and span ids, for log lines. */
export function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const sc = trace.getSpan(context.active())?.spanContext();
  return sc && trace.isSpanContextValid(sc)
    ? { trace_id: sc.traceId, span_id: sc.spanId }
    : undefined;
}
