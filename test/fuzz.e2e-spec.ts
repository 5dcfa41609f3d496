import type { InjectOptions } from 'light-my-request';
import { startPlatform } from './harness';

/**
 * A schema-driven fuzzer of the project's own: every operation of /docs/openapi.json, with
 * the classes of hostile input that once answered 5xx (deep nesting, NUL, lone surrogates,
 * wrong types, huge strings, bad ids, bad headers). Deterministic and bounded: about a
 * thousand requests in-process. Nothing may answer 5xx; every error is problem+json
 * (eFolder's routes keep eFolder's shapes); every app is healthy afterwards.
 */
const KEY = 'fuzz-test-key-0123456789abcdef';
const PREFIX = 'fz.';

type Operation = { method: string; path: string };
type Outcome = { req: string; status: number; type: string; body: string };

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const deepObject = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
const huge = 'x'.repeat(200_000);

/** Raw JSON texts: what a fuzzer sends is not always something JSON.stringify would make. */
const BODIES: Array<[string, string]> = [
  ['empty object', '{}'],
  ['deep array', deep(5000)],
  ['deep object', deepObject(20_000)],
  [
    'NUL in a value',
    '{"name":"a\\u0000b","title":"\\u0000","holder":"\\u0000","formData":{"x":"\\u0000"}}',
  ],
  ['NUL in a key', '{"a\\u0000":1}'],
  [
    'lone surrogate',
    '{"name":"\\ud800","title":"\\udfff","tenantId":"\\ud800","ownerId":"\\ud800"}',
  ],
  ['array', '[1,2,3]'],
  ['string', '"text"'],
  ['number', '42'],
  ['null', 'null'],
  [
    'wrong types',
    '{"name":123,"recipients":"x","fields":{},"ttlSeconds":"x","hours":-1,"copies":"yes","documentKey":5,"contentBase64":null,"source":"upload","pdfBase64":null,"formData":[],"dataBase64":7}',
  ],
  [
    'huge strings',
    JSON.stringify({ name: huge, title: huge, holder: huge, fileName: huge, contentBase64: huge }),
  ],
  ['proto pollution', '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}'],
  ['invalid JSON', '{"a":'],
];

const PATH_VALUES: Array<[string, string]> = [
  ['random uuid', '6f1c0b52-4b8e-4a57-9d8e-0a1b2c3d4e5f'],
  ['not a uuid', 'not-a-uuid'],
  ['NUL', '%00'],
  ['lone surrogate (CESU)', '%ED%A0%80'],
  ['long', 'a'.repeat(150)],
  ['braces', '%7BABC%7D'],
  ['dots', '..%2F..%2Fetc%2Fpasswd'],
];

const QUERIES = [
  '',
  '?limit=abc&cursor=%00',
  '?limit=-1&status=%ED%A0%80',
  `?cursor=${'A'.repeat(3000)}`,
  '?formAttachmentIds=%00,%00&form526SubmissionId=%00&documentType=%00',
  '?a[b][c][d]=1&limit[]=1',
];

const HEADER_SETS: Array<Record<string, string>> = [
  {},
  { 'if-match': 'garbage', 'lease-token': 'abc', 'x-access-code': 'x' },
  { 'if-match': '"1"', 'lease-token': '-1', 'x-access-code': '1'.repeat(40) },
  { 'file-number': 'x'.repeat(300), 'css-id': '%00', 'station-id': '-' },
  { 'idempotency-key': 'k'.repeat(500), 'x-correlation-id': '\u00e9' },
];

/** A small deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('fuzzing every route of the OpenAPI document', () => {
  let platform: Awaited<ReturnType<typeof startPlatform>>;

  beforeAll(async () => {
    platform = await startPlatform(PREFIX, { gateway: { DEV_API_KEY: KEY } });
  });

  afterAll(async () => {
    await platform?.close();
  });

  it('answers hostile input on every operation with a 4xx problem, never a 5xx', async () => {
    const gw = platform.gateway;
    const doc = await gw.inject({
      method: 'GET',
      url: '/docs/openapi.json',
      headers: { 'x-api-key': KEY },
    });
    expect(doc.statusCode).toBe(200);
    const paths = doc.json<{ paths: Record<string, Record<string, unknown>> }>().paths;
    const operations: Operation[] = Object.entries(paths).flatMap(([path, ops]) =>
      Object.keys(ops)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((method) => ({ method: method.toUpperCase(), path })),
    );
    // Every service's routes are in the document (the fuzzer would be blind to one missing).
    expect(operations.length).toBeGreaterThan(50);

    const random = rng(20261201);
    const pick = <T>(xs: T[]) => xs[Math.floor(random() * xs.length)];
    const outcomes: Outcome[] = [];
    const send = async (
      op: Operation,
      pathValue: string,
      query: string,
      body?: string,
      headers: Record<string, string> = {},
    ) => {
      const url = op.path.replace(/\{[^}]+\}/g, pathValue) + query;
      const contentType =
        op.path.endsWith('/copies/{id}') && op.method === 'PATCH'
          ? pick([
              'application/json-patch+json',
              'application/merge-patch+json',
              'application/json',
            ])
          : 'application/json';
      const req: InjectOptions = {
        method: op.method as InjectOptions['method'],
        url,
        headers: {
          'x-api-key': KEY,
          ...(body !== undefined ? { 'content-type': contentType } : {}),
          ...headers,
        },
        ...(body !== undefined ? { payload: body } : {}),
      };
      const res = await gw.inject(req);
      outcomes.push({
        req: `${op.method} ${url.slice(0, 160)} ${body?.slice(0, 60) ?? ''} ${JSON.stringify(headers).slice(0, 80)}`,
        status: res.statusCode,
        type: String(res.headers['content-type'] ?? ''),
        body: res.body.slice(0, 200),
      });
    };

    for (const op of operations) {
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(op.method);
      for (const [, value] of PATH_VALUES) {
        await send(
          op,
          value,
          pick(QUERIES),
          hasBody ? pick(BODIES)[1] : undefined,
          pick(HEADER_SETS),
        );
      }
      for (const query of QUERIES) await send(op, PATH_VALUES[0][1], query);
      if (hasBody)
        for (const [, body] of BODIES)
          await send(op, pick(PATH_VALUES)[1], '', body, pick(HEADER_SETS));
      for (const headers of HEADER_SETS)
        await send(op, PATH_VALUES[0][1], '', hasBody ? '{}' : undefined, headers);
    }

    // One line per failing request, so a report names what to fix.
    const lines = (xs: Outcome[]) => xs.map((o) => `${o.status} ${o.req} -> ${o.body}`);
    const serverErrors = outcomes.filter((o) => o.status >= 500);
    expect(lines(serverErrors).slice(0, 40)).toEqual([]);
    const notProblems = outcomes.filter(
      (o) =>
        o.status >= 400 &&
        !o.req.includes(' /api/v2/') &&
        !o.type.startsWith('application/problem+json'),
    );
    expect(lines(notProblems).slice(0, 40)).toEqual([]);
    // eFolder's routes answer in eFolder's own error shapes.
    const efolder = outcomes.filter((o) => o.status >= 400 && o.req.includes(' /api/v2/'));
    for (const o of efolder) expect(o.body).toMatch(/^\{"(status|errors)"/);
    expect(outcomes.length).toBeGreaterThan(1000);

    // Everything still stands.
    const ready = await gw.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    const status = await gw.inject({
      method: 'GET',
      url: '/api/v1/status',
      headers: { 'x-api-key': KEY },
    });
    expect(status.statusCode).toBe(200);
    const services = status.json<{ services: Array<{ service: string; state: string }> }>();
    expect(JSON.stringify(services)).not.toContain('"down"');
  });
});
