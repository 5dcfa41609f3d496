import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { Writable } from 'node:stream';
import { setupTracing } from '@app/observability';
import { eventually } from '@app/testing';
import { hashApiKey } from '../apps/gateway/src/auth/api-keys';
import { startPlatform } from './harness';

const KEY = 'tracing-test-key-0123456789';
const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT = '00f067aa0ba902b7';

/**
 * One trace across every hop: the caller's `traceparent` continues in the gateway's span,
 * the RPC to the service, its Postgres queries, the event it wrote to its outbox (published
 * later by the relay) and the handler that consumed it.
 */
describe('tracing across gateway, RabbitMQ, Postgres and the outbox', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: ReturnType<typeof setupTracing>;
  let platform: Awaited<ReturnType<typeof startPlatform>>;

  beforeAll(async () => {
    tracing = setupTracing('platform-test', { exporter });
    platform = await startPlatform('tr.', {
      gateway: {
        API_KEYS: JSON.stringify([
          {
            id: 'tracer',
            sha256: hashApiKey(KEY),
            scopes: ['efolder'],
          },
        ]),
      },
    });
  });
  afterAll(async () => {
    await platform?.close();
    await tracing?.shutdown();
    // The API's globals outlive this file in the test process: leave them as found.
    trace.disable();
    context.disable();
    propagation.disable();
  });

  it('finds one trace id from the HTTP request to the event consumer', async () => {
    const res = await platform.gateway.inject({
      method: 'POST',
      url: '/api/v2/manifests',
      headers: {
        'x-api-key': KEY,
        'css-id': 'TRACER',
        'station-id': '101',
        'file-number': '600000001',
        traceparent: `00-${TRACE_ID}-${PARENT}-01`,
      },
    });
    expect(res.statusCode).toBe(200);
    const spans = await eventually(async () => {
      const mine = exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
      expect(mine.some((s) => s.name === 'manifest-cache.source.fetch-requested.v1 process')).toBe(
        true,
      );
      return mine;
    }, 20000);
    const named = (name: string) => spans.filter((s) => s.name === name);
    const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

    const [http] = named('POST /api/v2/manifests');
    expect(http).toBeDefined();
    expect(parentOf(http)).toBe(PARENT); // the caller's span
    expect(http.attributes['http.response.status_code']).toBe(200);

    const rpcClient = named('manifest-cache.manifest.start.v1').find(
      (s) => s.kind === SpanKind.CLIENT,
    );
    const rpcServer = named('manifest-cache.manifest.start.v1').find(
      (s) => s.kind === SpanKind.SERVER,
    );
    expect(parentOf(rpcClient!)).toBe(http.spanContext().spanId);
    expect(parentOf(rpcServer!)).toBe(rpcClient!.spanContext().spanId);

    const queries = named('pg.query').filter(
      (s) => parentOf(s) === rpcServer!.spanContext().spanId,
    );
    expect(queries.length).toBeGreaterThan(0);
    expect(queries.some((q) => String(q.attributes['db.query.text']).includes('outbox'))).toBe(
      true,
    );

    const publish = named('manifest-cache.source.fetch-requested.v1 publish');
    expect(publish.length).toBeGreaterThan(0);
    const consume = named('manifest-cache.source.fetch-requested.v1 process');
    expect(publish.map((p) => p.spanContext().spanId)).toContain(parentOf(consume[0]));
    // The consumer's own queries are in the trace too.
    expect(named('pg.query').some((q) => parentOf(q) === consume[0].spanContext().spanId)).toBe(
      true,
    );
  });

  it('writes the trace id on the log lines of a traced request', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l));
        cb();
      },
    });
    const { createLogger, inSpan } = await import('@app/observability');
    const logger = createLogger('gateway', 'info', sink);
    await inSpan('work', { kind: SpanKind.INTERNAL }, () => logger.info('inside'));
    logger.info('outside');
    expect(lines[0]).toMatchObject({
      msg: 'inside',
      trace_id: expect.stringMatching(/^[0-9a-f]{32}$/),
    });
    expect(lines[1].trace_id).toBeUndefined();
  });
});
