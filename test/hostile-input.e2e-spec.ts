import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { PDFDocument } from 'pdf-lib';
import { Client } from 'pg';
import { loadConfig } from '@app/config';
import { RpcCallError } from '@app/messaging';
import { FsStorage } from '@app/storage';
import { eventually, invoicePdf, sampleInvoice, testEnv } from '@app/testing';
import { createGatewayApp } from '../apps/gateway/src/app';
import { gatewaySchema } from '../apps/gateway/src/config';
import { ServicesClient } from '../apps/gateway/src/rpc';
import { startGateway, startPlatform } from './harness';
import { inspectFinal } from './pdf-tools';

/** One test per way hostile input once hurt the platform (each failed before its fix). */
const KEY = 'hostile-test-key-0123456789abcdef';
const PREFIX = 'hi.';
const DEFLATE_BUDGET = 8 * 1024 * 1024;

type Json = Record<string, unknown>;
type Problem = {
  type: string;
  status: number;
  detail: string;
  correlationId?: string;
  errors?: Array<{ field: string }>;
};

/** A form: a name, a two-letter state (/MaxLen 2), a multiline notes box, a box to tick. */
async function formPdf(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([600, 600]);
  const form = doc.getForm();
  form.createTextField('name').addToPage(page, { x: 20, y: 540, width: 300, height: 20 });
  const state = form.createTextField('state');
  state.setMaxLength(2);
  state.addToPage(page, { x: 20, y: 500, width: 60, height: 20 });
  const notes = form.createTextField('notes');
  notes.enableMultiline();
  notes.addToPage(page, { x: 20, y: 100, width: 560, height: 380 });
  form.createCheckBox('agree').addToPage(page, { x: 20, y: 60, width: 15, height: 15 });
  return Buffer.from(await doc.save());
}

/** A small PDF with one stream that inflates to `bytes` (a "PDF bomb" when that is large). */
async function bombPdf(bytes: number): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.addPage([200, 200]).drawText('Invoice Number: 1', { x: 10, y: 100, size: 12 });
  doc.context.register(doc.context.flateStream(new Uint8Array(bytes)));
  return Buffer.from(await doc.save());
}

async function pagesPdf(n: number): Promise<Buffer> {
  const doc = await PDFDocument.create();
  for (let i = 0; i < n; i++) doc.addPage([200, 200]).drawText(`page ${i + 1}`, { x: 10, y: 100 });
  return Buffer.from(await doc.save());
}

/** Sends raw bytes and collects what comes back until the server closes the connection. */
function rawExchange(
  port: number,
  steps: (socket: Socket, closed: () => boolean) => Promise<void>,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let isClosed = false;
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      isClosed = true;
      resolve(data);
    });
    socket.on('connect', () => {
      steps(socket, () => isClosed).catch(reject);
    });
  });
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('hostile input', () => {
  let platform: Awaited<ReturnType<typeof startPlatform>>;
  let gw: NestFastifyApplication;
  const lines: string[] = [];

  const call = async <T = Json>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: unknown,
    headers: Record<string, string> = {},
    key: string | null = KEY,
  ) => {
    const res = await gw.inject({
      method,
      url,
      headers: {
        ...(key ? { 'x-api-key': key } : {}),
        ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      ...(payload !== undefined
        ? { payload: typeof payload === 'string' ? payload : JSON.stringify(payload) }
        : {}),
    });
    return {
      status: res.statusCode,
      headers: res.headers,
      body: (res.body ? JSON.parse(res.body) : null) as T,
      type: String(res.headers['content-type'] ?? ''),
    };
  };
  const expectProblem = (
    r: { status: number; type: string; body: unknown },
    status: number,
    text?: string,
  ) => {
    expect(r.status).toBe(status);
    expect(r.type).toMatch(/^application\/problem\+json/);
    const p = r.body as Problem;
    expect(p.correlationId).toBeTruthy();
    if (text) expect(JSON.stringify(p)).toContain(text);
    return p;
  };

  const recipient = (over: Json = {}) => ({
    type: 'PATIENT',
    name: 'Łukasz',
    email: 'lukasz@example.org',
    fields: ['name', 'state', 'notes', 'agree'],
    ...over,
  });
  const workflow = async (over: Json = {}) => {
    const r = await call<{ workflow: { id: string }; links: Array<{ url: string }> }>(
      'POST',
      '/api/v1/workflows',
      {
        pdfBase64: (await formPdf()).toString('base64'),
        recipients: [recipient(over)],
      },
    );
    expect(r.status).toBe(201);
    return { id: r.body.workflow.id, link: new URL(r.body.links[0].url).pathname };
  };

  beforeAll(async () => {
    platform = await startPlatform(PREFIX, {
      services: {
        // A fill that outlives this is stopped; the notes box may take far more than it can fill.
        PDF_TASK_TIMEOUT_MS: '1500',
        MULTILINE_FIELD_MAX_CHARS: '20000',
        MAX_DECOMPRESSED_BYTES: String(DEFLATE_BUDGET),
        MAX_PDF_PAGES: '3',
        EVENT_MAX_ATTEMPTS: '2',
      },
      gateway: { DEV_API_KEY: KEY },
    });
    // The gateway under test writes its log lines here, to check what they hold.
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    gw = await createGatewayApp(
      loadConfig(gatewaySchema, {
        NODE_ENV: 'test',
        LOG_LEVEL: 'info',
        RABBITMQ_URL: testEnv().rabbitUrl,
        DATABASE_URL: testEnv().databaseUrl,
        MESSAGING_PREFIX: PREFIX,
        STORAGE_ROOT: platform.storageRoot,
        DEV_API_KEY: KEY,
        RATE_LIMIT_PER_MINUTE: '100000',
      }),
      sink,
    );
    await gw.init();
    await gw.getHttpAdapter().getInstance().ready();
    await eventually(async () => expect((await call('GET', '/health/ready')).status).toBe(200));
  });

  afterAll(async () => {
    await gw?.close();
    await platform?.close();
  });

  it('1. refuses JSON nested deeper than the limit at the gateway, and in every service', async () => {
    const deep = '{"a":'.repeat(3000) + '1' + '}'.repeat(3000);
    for (const url of ['/api/v1/application-forms', '/api/v1/workflows', '/api/v1/templates']) {
      const p = expectProblem(await call('POST', url, deep), 400, 'nested more than 64 levels');
      expect(p.errors?.[0].field).toBe('body');
    }
    // 64 levels are allowed (and then validated as usual).
    const ok = '{"a":'.repeat(63) + '1' + '}'.repeat(63);
    const fine = await call('POST', '/api/v1/templates', ok);
    expect(fine.status).toBe(400);
    expect(JSON.stringify(fine.body)).not.toContain('nested');
    // A message that reaches a service some other way is refused there too.
    let nested: unknown = 1;
    for (let i = 0; i < 500; i++) nested = { a: nested };
    const rpc = gw.get(ServicesClient);
    const err = await rpc
      .send('form-copies.application-form.create.v1', {
        tenantId: 't',
        ownerId: 'o',
        document: nested,
      } as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcCallError);
    expect((err as RpcCallError).body).toMatchObject({ status: 400, code: 'validation_failed' });
  });

  it('2. refuses NUL and lone surrogates in body strings, keys and query values (recipients too)', async () => {
    const nul = expectProblem(
      await call('POST', '/api/v1/templates', '{"name":"a\\u0000b","fields":[]}'),
      400,
      'NUL',
    );
    expect(nul.errors?.[0].field).toBe('body/name');
    expectProblem(await call('POST', '/api/v1/templates', '{"na\\u0000me":1}'), 400, 'key');
    const sur = expectProblem(
      await call('POST', '/api/v1/application-forms', '{"tenantId":"\\ud800","ownerId":"o"}'),
      400,
      'surrogate',
    );
    expect(sur.errors?.[0].field).toBe('body/tenantId');
    expectProblem(await call('GET', '/api/v1/workflows?creatorId=%00'), 400, 'query parameter');
    expectProblem(await call('GET', '/api/v1/document-uploads?status=%00'), 400, 'NUL');
    // The recipient's save needs no key: refused all the same, and nothing is stored.
    const { link } = await workflow();
    expectProblem(
      await call('PATCH', `${link}/form-data`, '{"formData":{"name":"\\u0000"}}', {}, null),
      400,
      'NUL',
    );
    const step = await call<{ fields: Array<{ name: string; value: unknown }> }>(
      'GET',
      link,
      undefined,
      {},
      null,
    );
    expect(step.body.fields.find((f) => f.name === 'name')?.value).toBeNull();
    // And a service checks its messages itself.
    const err = await gw
      .get(ServicesClient)
      .send('upload-status.upload.get.v1', {
        actor: { tenantId: 't', callerId: 'k', keyId: 'k' },
        id: 'a\u0000',
      })
      .catch((e: unknown) => e);
    expect((err as RpcCallError).body).toMatchObject({ status: 400 });
  });

  it('3. answers ids that are not UUIDs, bad Lease-Token headers and null base64 with 400', async () => {
    for (const url of [
      '/api/v1/workflows/not-a-uuid/cancel',
      '/api/v1/workflows/not-a-uuid/extend',
      '/api/v1/workflows/not-a-uuid/resend',
    ])
      expectProblem(await call('POST', url, { hours: 1 }), 400, 'must be a UUID');
    const { id, link } = await workflow();
    expectProblem(await call('GET', `/api/v1/workflows/${id}/attachments/x`), 400, 'attachmentId');
    expectProblem(
      await call('GET', link, undefined, { 'x-access-code': 'abc' }, null),
      400,
      'X-Access-Code',
    );
    const copy = crypto.randomUUID();
    expectProblem(
      await call('PUT', `/api/v1/copies/${copy}/lease`, { ttlSeconds: 5 }),
      400,
      'Lease-Token',
    );
    expectProblem(
      await call('PUT', `/api/v1/copies/${copy}/lease`, { ttlSeconds: 5 }, { 'lease-token': 'x' }),
      400,
      'Lease-Token',
    );
    expectProblem(
      await call('DELETE', `/api/v1/copies/${copy}/lease`, undefined, { 'lease-token': '-1' }),
      400,
      'Lease-Token',
    );
    expectProblem(
      await call('PATCH', `/api/v1/copies/${copy}`, [], {
        'content-type': 'application/json-patch+json',
        'if-match': 'garbage',
      }),
      400,
      'If-Match',
    );
    const job = await call<{ id: string }>('POST', '/api/v1/extraction-jobs', {
      name: 'bad files',
      fields: [{ name: 'total', dataType: 'currency' }],
    });
    expect(job.status).toBe(201);
    expectProblem(
      await call('POST', `/api/v1/extraction-jobs/${job.body.id}/files`, {
        source: 'upload',
        fileName: 'a.pdf',
        contentBase64: null,
      }),
      400,
      'contentBase64',
    );
    expectProblem(
      await call('POST', `/api/v1/extraction-jobs/${job.body.id}/files`, {
        source: 'upload',
        fileName: 'a.pdf',
        contentBase64: '%%% not base64 %%%',
      }),
      400,
      'contentBase64',
    );
  });

  it('4. answers a failure inside a service as a 500, and an unreachable service as a 503 with Retry-After', async () => {
    // A payload the handler cannot take apart: a bug on the service's side, not an outage.
    const err = await gw
      .get(ServicesClient)
      .send('pdf-workflow.workflow.list.v1', null as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcCallError);
    expect((err as RpcCallError).body).toMatchObject({ status: 500, code: 'internal' });
    expect((err as RpcCallError).body.message).not.toContain('[object Object]');
    const cut = await startGateway({
      MESSAGING_PREFIX: PREFIX,
      DEV_API_KEY: KEY,
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1',
      RPC_TIMEOUT_MS: '2000',
    });
    try {
      const res = await cut.inject({
        method: 'GET',
        url: '/api/v1/workflows/stats',
        headers: { 'x-api-key': KEY },
      });
      expect(res.statusCode).toBe(503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    } finally {
      await cut.close();
    }
  });

  it('5. fills after the step, in a worker: completing answers at once and other calls keep being answered', async () => {
    const { id, link } = await workflow();
    // 6,000 characters in a multiline box: minutes of pdf-lib's own layout on an event loop.
    const long = Array.from({ length: 800 }, (_, i) => `w${i % 10}rd ok`)
      .join(' ')
      .slice(0, 6000);
    const saved = await call(
      'PATCH',
      `${link}/form-data`,
      { formData: { name: 'Jose Nunez', state: 'CA', notes: long, agree: true } },
      {},
      null,
    );
    expect(saved.status).toBe(200);
    const completed = await call<{ workflowStatus: string }>(
      'POST',
      `${link}/complete`,
      undefined,
      {},
      null,
    );
    expect(completed.status).toBe(200);
    expect(completed.body.workflowStatus).toBe('FINALIZING');
    // Other calls to the same service are answered while the document is filled and sealed.
    let answered = 0;
    const deadline = Date.now() + 45_000;
    for (;;) {
      expect(Date.now()).toBeLessThan(deadline);
      const view = await call<{ status: string }>('GET', `/api/v1/workflows/${id}`);
      expect(view.status).toBe(200);
      if (view.body.status === 'COMPLETED') break;
      expect(view.body.status).toBe('FINALIZING');
      expect((await call('GET', '/api/v1/workflows/stats')).status).toBe(200);
      answered++;
    }
    expect(answered).toBeGreaterThanOrEqual(1);
    const doc = await gw.inject({
      method: 'GET',
      url: `/api/v1/workflows/${id}/document`,
      headers: { 'x-api-key': KEY },
    });
    expect(doc.statusCode).toBe(200);
    expect((await inspectFinal(doc.rawPayload)).text).toContain('w0rd ok w1rd ok');
  });

  it('5b. bounds a value by its field when it is saved: 422 naming the field', async () => {
    const { link } = await workflow();
    const p = expectProblem(
      await call('PATCH', `${link}/form-data`, { formData: { state: 'California' } }, {}, null),
      422,
      'state: must be at most 2 characters',
    );
    expect(p.type).toBe('urn:problem-type:unprocessable');
    // What no font can draw is refused at save, naming the field and the characters, and so
    // is text too long for its box on the page; the completion never meets either.
    expectProblem(
      await call('PATCH', `${link}/form-data`, { formData: { name: 'Ann \ue000' } }, {}, null),
      422,
      "name: cannot be drawn with the platform's fonts: U+E000",
    );
    expectProblem(
      await call('PATCH', `${link}/form-data`, { formData: { name: 'x'.repeat(900) } }, {}, null),
      422,
      'name: too long for its box (301×21 pt) at a legible size; shorten it',
    );
    // Characters are counted as a person counts them: two emoji fit two cells.
    expect(
      (await call('PATCH', `${link}/form-data`, { formData: { state: '🙂🙂' } }, {}, null)).status,
    ).toBe(200);
  });

  it('6. fails a PDF bomb as a task with its reason; reads a PDF past the page cap in part, with a warning', async () => {
    const job = await call<{ id: string }>('POST', '/api/v1/extraction-jobs', {
      name: 'bombs',
      fields: [{ name: 'invoice_number', dataType: 'text' }],
    });
    const add = async (name: string, pdf: Buffer) =>
      call('POST', `/api/v1/extraction-jobs/${job.body.id}/files`, {
        source: 'upload',
        fileName: name,
        contentBase64: pdf.toString('base64'),
      });
    const bomb = await bombPdf(8 * DEFLATE_BUDGET);
    expect(bomb.length).toBeLessThan(DEFLATE_BUDGET / 16);
    expect((await add('bomb.pdf', bomb)).status).toBe(201);
    expect((await add('pages.pdf', await pagesPdf(5))).status).toBe(201);
    expect((await add('fine.pdf', await invoicePdf(sampleInvoice(7)))).status).toBe(201);
    const run = await call<{ id: string }>('POST', `/api/v1/extraction-jobs/${job.body.id}/runs`);
    expect(run.status).toBe(202);
    const finished = await eventually(async () => {
      const r = await call<{ status: string; tasksFailed: number; tasksCompleted: number }>(
        'GET',
        `/api/v1/job-runs/${run.body.id}`,
      );
      if (!['completed', 'partially_completed', 'failed'].includes(r.body.status))
        throw new Error(r.body.status);
      return r.body;
    }, 30_000);
    expect(finished).toMatchObject({
      status: 'partially_completed',
      tasksFailed: 1,
      tasksCompleted: 2,
    });
    const results = await call<{
      results: Array<{
        fileName: string;
        status: string;
        error: string | null;
        warnings: string[];
      }>;
    }>('GET', `/api/v1/job-runs/${run.body.id}/results`);
    const byName = new Map(results.body.results.map((r) => [r.fileName, r]));
    expect(byName.get('bomb.pdf')?.error).toContain(
      `inflates to more than ${DEFLATE_BUDGET} bytes`,
    );
    // Not silently: the task says which pages were read.
    expect(byName.get('pages.pdf')).toMatchObject({
      status: 'completed',
      warnings: ['the PDF has 5 pages; only the first 3 were read (the limit per file)'],
    });
    expect(byName.get('fine.pdf')).toMatchObject({ status: 'completed', warnings: [] });
  });

  it('7. cuts off requests whose headers or body trickle in', async () => {
    const slow = await startGateway({
      MESSAGING_PREFIX: PREFIX,
      DEV_API_KEY: KEY,
      HEADERS_TIMEOUT_MS: '300',
      REQUEST_TIMEOUT_MS: '600',
    });
    await slow.listen(0, '127.0.0.1');
    const port = (slow.getHttpServer().address() as { port: number }).port;
    try {
      let sent = 0;
      const headers = await rawExchange(port, async (s, closed) => {
        s.write('GET /health/live HTTP/1.1\r\nHost: x\r\n');
        // One header line every 100 ms would go on for 30 s; the server ends it long before.
        while (!closed() && sent < 300) {
          s.write(`X-Slow-${sent++}: 1\r\n`);
          await sleep(100);
        }
      });
      expect(headers).toMatch(/^HTTP\/1\.1 408/);
      expect(headers).toContain('application/problem+json');
      expect(sent).toBeLessThan(300);
      const body = await rawExchange(port, async (s) => {
        s.write(
          'POST /api/v1/templates HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"na',
        );
        await sleep(5);
      });
      expect(body).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      await slow.close();
    }
  });

  it('8. trusts no X-Forwarded-For by default: one rate-limit bucket per real client, real address in the audit', async () => {
    const limited = await startGateway({
      MESSAGING_PREFIX: PREFIX,
      DEV_API_KEY: KEY,
      RATE_LIMIT_PER_MINUTE: '3',
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await limited.inject({
          method: 'GET',
          url: `/api/v1/r/${'A'.repeat(43)}`,
          headers: { 'x-forwarded-for': `198.51.100.${i + 1}` },
        });
        statuses.push(r.statusCode);
      }
      expect(statuses).toEqual([404, 404, 404, 429, 429]);
    } finally {
      await limited.close();
    }
    const { id, link } = await workflow();
    expect(
      (await call('GET', link, undefined, { 'x-forwarded-for': '203.0.113.9' }, null)).status,
    ).toBe(200);
    const audit = await call<Array<{ eventType: string; ipAddress: string }>>(
      'GET',
      `/api/v1/workflows/${id}/audit`,
    );
    const accessed = audit.body.find((a) => a.eventType === 'link_accessed');
    expect(accessed?.ipAddress).toBe('127.0.0.1');
  });

  it('9. locks an access code after 5 wrong tries until the creator resends it', async () => {
    const { id, link } = await workflow({ phone: '+1 555 0100', accessCode: true });
    const codeSent = () => {
      const sms = platform.sim.state.notices.filter(
        (n) => n.channel === 'sms' && n.to === '+1 555 0100',
      );
      return /(\d{6})/.exec(sms[sms.length - 1].body)![1];
    };
    const code = codeSent();
    const wrong = code === '000000' ? '111111' : '000000';
    const tries: number[] = [];
    for (let i = 0; i < 6; i++)
      tries.push((await call('GET', link, undefined, { 'x-access-code': wrong }, null)).status);
    expect(tries).toEqual([403, 403, 403, 403, 423, 423]);
    // Even the right code no longer opens it.
    expectProblem(
      await call('GET', link, undefined, { 'x-access-code': code }, null),
      423,
      'locked',
    );
    const audit = await call<Array<{ eventType: string }>>('GET', `/api/v1/workflows/${id}/audit`);
    expect(audit.body.filter((a) => a.eventType === 'access_code_locked')).toHaveLength(1);
    expect((await call('POST', `/api/v1/workflows/${id}/resend`)).status).toBe(200);
    const fresh = codeSent();
    expect((await call('GET', link, undefined, { 'x-access-code': fresh }, null)).status).toBe(200);
  });

  it("10. names only the caller's own uploads as a workflow's document", async () => {
    const body = (documentKey: string) => ({
      documentKey,
      recipients: [recipient()],
    });
    // Blobs that exist: another service's file, and another caller's workflow upload.
    const storage = new FsStorage(platform.storageRoot);
    const pdf = await formPdf();
    const foreign = [
      `files/sha256/${'a'.repeat(64)}`,
      `uploads/${crypto.randomUUID()}`,
      `workflows/uploads/someone-else/${crypto.randomUUID()}.pdf`,
    ];
    for (const key of foreign) {
      await storage.put(key, pdf, 'application/pdf');
      expectProblem(await call('POST', '/api/v1/workflows', body(key)), 400, 'documentKey');
    }
  });

  it('10b. repeats a workflow creation by Idempotency-Key with the same links, never storing them', async () => {
    const body = {
      pdfBase64: (await formPdf()).toString('base64'),
      recipients: [recipient()],
    };
    const first = await call<{ workflow: { id: string }; links: Array<{ url: string }> }>(
      'POST',
      '/api/v1/workflows',
      body,
      { 'idempotency-key': 'wf-create-1' },
    );
    const again = await call<typeof first.body>('POST', '/api/v1/workflows', body, {
      'idempotency-key': 'wf-create-1',
    });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    const token = new URL(first.body.links[0].url).pathname.split('/').pop()!;
    const db = new Client({ connectionString: testEnv().databaseUrl });
    await db.connect();
    try {
      const { rows } = await db.query<{ n: number; kept: number }>(
        `SELECT count(*)::int AS n, count(*) FILTER (WHERE response::text LIKE '%' || $2 || '%')::int AS kept
           FROM pdf_workflow.rpc_requests WHERE response::text LIKE '%' || $1 || '%'`,
        [first.body.workflow.id, token],
      );
      expect(rows[0]).toEqual({ n: 1, kept: 0 });
      const { rows: sessions } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pdf_workflow.workflow_sessions WHERE id = $1`,
        [first.body.workflow.id],
      );
      expect(sessions[0].n).toBe(1);
    } finally {
      await db.end();
    }
  });

  it('11. keeps link tokens out of the logs, /docs behind a key however spelled, and sends security headers', async () => {
    const { link } = await workflow();
    const token = link.split('/').pop()!;
    await call('GET', link, undefined, {}, null);
    await call('GET', `${link}/nope`, undefined, {}, null);
    await eventually(() =>
      expect(lines.some((l) => l.includes('/api/v1/r/[redacted]'))).toBe(true),
    );
    expect(lines.filter((l) => l.includes(token))).toEqual([]);
    for (const url of ['/docs/openapi.json', '/%64ocs/openapi.json', '/docs', '/DOCS/openapi.json'])
      expect([401, 404]).toContain((await call('GET', url, undefined, {}, null)).status);
    expect((await call('GET', '/%64ocs/openapi.json', undefined, {}, null)).status).toBe(401);
    const step = await call('GET', link, undefined, {}, null);
    expect(step.headers).toMatchObject({
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'SAMEORIGIN',
    });
    expect(step.headers['strict-transport-security']).toContain('max-age=');
    expect(step.headers['content-security-policy']).toContain("default-src 'none'");
  });

  it('12. escapes CSV cells a spreadsheet would run as formulas', async () => {
    const doc = await PDFDocument.create();
    const page = doc.addPage([500, 200]);
    page.drawText('Reference: =HYPERLINK("http://evil.example/x","open")', {
      x: 10,
      y: 150,
      size: 10,
    });
    page.drawText('Note: @SUM(A1:A9)', { x: 10, y: 120, size: 10 });
    const job = await call<{ id: string }>('POST', '/api/v1/extraction-jobs', {
      name: 'formulas',
      // Free text: an invoice number or a seller's name is read as one, never a formula.
      fields: [
        { name: 'reference', dataType: 'text' },
        { name: 'memo', dataType: 'text', description: 'hints: note' },
      ],
    });
    await call('POST', `/api/v1/extraction-jobs/${job.body.id}/files`, {
      source: 'upload',
      fileName: 'formula.pdf',
      contentBase64: Buffer.from(await doc.save()).toString('base64'),
    });
    const run = await call<{ id: string }>('POST', `/api/v1/extraction-jobs/${job.body.id}/runs`);
    await eventually(async () => {
      const r = await call<{ status: string }>('GET', `/api/v1/job-runs/${run.body.id}`);
      expect(r.body.status).toBe('completed');
    }, 30_000);
    const exp = await call<{ id: string }>('POST', `/api/v1/job-runs/${run.body.id}/exports`, {
      destType: 'download',
      fileType: 'csv',
    });
    await eventually(async () => {
      const e = await call<{ status: string }>('GET', `/api/v1/job-exports/${exp.body.id}`);
      expect(e.body.status).toBe('completed');
    });
    const csv = await gw.inject({
      method: 'GET',
      url: `/api/v1/job-exports/${exp.body.id}/download`,
      headers: { 'x-api-key': KEY },
    });
    const table: string[][] = parse(csv.body);
    const [header, row] = table;
    const cell = (name: string) => row[header.indexOf(name)];
    expect(cell('reference')).toBe('\'=HYPERLINK("http://evil.example/x","open")');
    expect(cell('memo')).toBe("'@SUM(A1:A9)");
  });

  it("13. answers Fastify's and Node's own refusals as problem+json with a correlation id", async () => {
    expectProblem(await call('GET', '/api/v1/workflows/%E0%A4%A'), 400);
    expectProblem(await call('GET', `/api/v1/workflows/${'a'.repeat(300)}`), 414);
    expectProblem(
      await call('POST', '/api/v1/templates', '<a/>', { 'content-type': 'application/xml' }),
      415,
    );
    expectProblem(
      await call('POST', '/api/v1/templates', `{"name":"${'x'.repeat(11 * 1024 * 1024)}"}`),
      413,
    );
    await gw.listen(0, '127.0.0.1');
    const port = (gw.getHttpServer().address() as { port: number }).port;
    const answer = await rawExchange(port, async (s) => {
      s.write(`GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      await sleep(5);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 431/);
    expect(answer).toContain('application/problem+json');
    expect(answer).toMatch(/x-correlation-id: [0-9a-f-]{36}/);
  });
});
