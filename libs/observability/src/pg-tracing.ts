import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import pg from 'pg';

let done = false;

/**
 * A CLIENT span per Postgres query, child of the active span. Patched on the driver's
 * prototype (the one TypeORM's pools use), once, when a tracer provider is installed: the
 * require-hook instrumentations cannot reach a module already loaded, or loaded by a test
 * runner's own module system. Only statements are recorded, never their parameters.
 */
export function instrumentPg(): void {
  if (done) return;
  done = true;
  const proto = pg.Client.prototype as unknown as {
    query: (...args: unknown[]) => unknown;
  };
  const original = proto.query;
  proto.query = function tracedQuery(this: unknown, ...args: unknown[]): unknown {
    const active = trace.getSpan(context.active());
    if (!active?.isRecording()) return original.apply(this, args);
    const first = args[0] as string | { text?: string } | undefined;
    const text = typeof first === 'string' ? first : (first?.text ?? '');
    const span = trace.getTracer('document-platform').startSpan(
      'pg.query',
      {
        kind: SpanKind.CLIENT,
        attributes: {
          'db.system.name': 'postgresql',
          'db.query.text': text.slice(0, 2000),
          'db.operation.name': /^\s*(\w+)/.exec(text)?.[1]?.toUpperCase() ?? '',
        },
      },
      context.active(),
    );
    const finish = (err?: unknown) => {
      if (err) {
        span.recordException(err as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      }
      span.end();
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = function (this: unknown, err: unknown, ...rest: unknown[]) {
        finish(err);
        return (last as (...a: unknown[]) => unknown).call(this, err, ...rest);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args);
    if (result && typeof (result as Promise<unknown>).then === 'function')
      (result as Promise<unknown>).then(
        () => finish(),
        (err: unknown) => finish(err),
      );
    else finish();
    return result;
  };
}
