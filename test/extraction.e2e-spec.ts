import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { parse } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DataSource } from 'typeorm';
import type {
  AutomationRunView,
  ExportView,
  IntegrationAccountView,
  JobView,
  ResultView,
  RunView,
  SourceFileView,
} from '@app/contracts';
import { serviceDataSource } from '@app/service-kit';
import {
  eventually,
  expectedValues,
  INVOICE_FIELDS,
  invoicePdf,
  sampleInvoice,
  testEnv,
  testServiceConfig,
  freePort,
  corpusFile,
} from '@app/testing';
import type { GoogleState } from '../apps/upstream-sim/src/google-sim';
import type { OpenAiState } from '../apps/upstream-sim/src/openai-sim';
import { GoogleOidc } from '../apps/upstream-sim/src/google-oidc';
import { extractionSchema } from '../apps/extraction/src/config';
import { ExtractionService } from '../apps/extraction/src/extraction.module';
import { Maintenance } from '../apps/extraction/src/jobs/maintenance';
import { startGateway, startService, startSim } from './harness';
import { scannedPdf } from '../libs/testing/src/scans';

const KEY = 'extraction-test-key-0123456789';
const PREFIX = 'ex.';
const ALICE = 'alice@example.com';
const REDIRECT = 'https://app.example.org/oauth/google';
/** The push subscription's audience and the service account Pub/Sub signs its tokens as. */
const PUSH_AUDIENCE = 'https://platform.example.org/api/v1/integrations/google/gmail/push';
const PUSH_ACCOUNT = 'gmail-push@document-platform.iam.gserviceaccount.com';

describe('extraction through the gateway', () => {
  let sim: FastifyInstance;
  let google: GoogleState;
  let openai: OpenAiState;
  let simUrl: string;
  let services: NestFastifyApplication[];
  let gateway: NestFastifyApplication;
  let ds: DataSource;
  let storageRoot: string;
  let env: Record<string, string>;
  let account: IntegrationAccountView;
  let job: JobView;
  let firstRun: RunView;
  let secondRun: RunView;

  const api = async <T = unknown>(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
  ) => {
    const res = await gateway.inject({
      method,
      url,
      headers: { 'x-api-key': KEY },
      ...(payload ? { payload } : {}),
    });
    const json = String(res.headers['content-type'] ?? '').includes('json');
    return { status: res.statusCode, body: (json ? res.json() : undefined) as T, res };
  };
  const simPost = async <T>(path: string, body: object = {}) =>
    (await (
      await fetch(`${simUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json()) as T;
  const b64 = (b: Buffer) => b.toString('base64');
  const invoice = async (n: number) => invoicePdf(sampleInvoice(n));
  const upload = (jobId: string, fileName: string, data: Buffer) =>
    api<SourceFileView>('POST', `/api/v1/extraction-jobs/${jobId}/files`, {
      source: 'upload',
      fileName,
      contentBase64: b64(data),
    });
  const finished = (runId: string, timeoutMs = 30_000) =>
    eventually(
      async () => {
        const r = await api<RunView>('GET', `/api/v1/job-runs/${runId}`);
        if (!['completed', 'partially_completed', 'failed'].includes(r.body.status))
          throw new Error(`run is ${r.body.status}`);
        return r.body;
      },
      timeoutMs,
      100,
    );
  const exported = (id: string) =>
    eventually(async () => {
      const e = await api<ExportView>('GET', `/api/v1/job-exports/${id}`);
      if (e.body.status !== 'completed' && e.body.status !== 'failed')
        throw new Error(`export is ${e.body.status}`);
      return e.body;
    });
  const results = async (runId: string) =>
    (await api<{ run: RunView; results: ResultView[] }>('GET', `/api/v1/job-runs/${runId}/results`))
      .body;
  const connect = async (email: string) => {
    const auth = await api<{ url: string; state: string }>(
      'GET',
      `/api/v1/integrations/google/authorize?redirectUri=${encodeURIComponent(REDIRECT)}`,
    );
    expect(auth.status).toBe(200);
    // The user consents at Google, which redirects back with a code and the state.
    const consent = await fetch(`${auth.body.url}&login_hint=${encodeURIComponent(email)}`, {
      redirect: 'manual',
    });
    expect(consent.status).toBe(302);
    const back = new URL(consent.headers.get('location')!);
    expect(back.origin + back.pathname).toBe(REDIRECT);
    const cb = await api<IntegrationAccountView>(
      'GET',
      `/api/v1/integrations/google/callback${back.search}`,
    );
    expect(cb.status).toBe(200);
    return cb.body;
  };
  const calls = (key: string) => google.calls.get(key) ?? 0;
  const pushAs = async (token: string | null, historyId: number, headers = {}) => {
    const res = await gateway.inject({
      method: 'POST',
      url: '/api/v1/integrations/google/gmail/push',
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
      payload: {
        message: {
          data: b64(Buffer.from(JSON.stringify({ emailAddress: ALICE, historyId }))),
          messageId: '1',
          publishTime: new Date().toISOString(),
        },
        subscription: 'projects/p/subscriptions/s',
      },
    });
    return {
      status: res.statusCode,
      body: res.body ? res.json<{ detail?: string }>() : {},
    };
  };

  beforeAll(async () => {
    const sm = await startSim();
    sim = sm.app;
    google = sm.google;
    openai = sm.openai;
    simUrl = sm.url;
    storageRoot = await mkdtemp(join(tmpdir(), 'ex-storage-'));
    env = {
      MESSAGING_PREFIX: PREFIX,
      STORAGE_ROOT: storageRoot,
      GOOGLE_AUTH_URL: `${simUrl}/google/o/oauth2/v2/auth`,
      GOOGLE_OAUTH_URL: `${simUrl}/google/oauth2`,
      GOOGLE_API_URL: `${simUrl}/google`,
      GOOGLE_BACKOFF_MS: '10',
      OAUTH_STATE_SECRET: 'a-test-oauth-state-secret-of-32-chars!',
      ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
      JOBS_ENABLED: 'false',
      EVENT_MAX_ATTEMPTS: '3',
      MODEL_BASE_URL: `${simUrl}/openai/v1`,
      MODEL_NAME: 'gpt-4o-mini',
      MODEL_MAX_RETRIES: '2',
      MODEL_PAGE_IMAGES: '1',
      MODEL_INPUT_USD_PER_MTOK: '0.15',
      MODEL_OUTPUT_USD_PER_MTOK: '0.6',
    };
    const config = testServiceConfig(env, extractionSchema);
    // Two replicas: every test runs with competing workers.
    services = await startService(ExtractionService, config, 2);
    ds = serviceDataSource(ExtractionService, config);
    await ds.initialize();
    gateway = await startGateway({
      MESSAGING_PREFIX: PREFIX,
      DEV_API_KEY: KEY,
      STORAGE_ROOT: storageRoot,
      PUBSUB_PUSH_AUDIENCE: PUSH_AUDIENCE,
      PUBSUB_PUSH_SERVICE_ACCOUNT: PUSH_ACCOUNT,
      GOOGLE_OIDC_CERTS_URL: `${simUrl}/google/oauth2/v1/certs`,
    });
  });

  afterAll(async () => {
    await gateway?.close();
    for (const s of services ?? []) await s.close();
    await ds?.destroy();
    await sim?.close();
    await rm(storageRoot, { recursive: true, force: true });
  });

  it('documents its routes and refuses callers without a key', async () => {
    const doc = await api<{ paths: Record<string, object> }>('GET', '/docs/openapi.json');
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/extraction-jobs/{id}/runs',
        '/api/v1/job-runs/{id}',
        '/api/v1/job-runs/{id}/results',
        '/api/v1/job-runs/{id}/exports',
        '/api/v1/integrations/{provider}/callback',
        '/api/v1/automations',
      ]),
    );
    const anonymous = await gateway.inject({
      method: 'POST',
      url: '/api/v1/extraction-jobs',
      payload: {},
    });
    expect(anonymous.statusCode).toBe(401);
    const invalid = await api('POST', '/api/v1/extraction-jobs', {
      name: 'x',
      fields: [{ name: 'total', dataType: 'money' }],
    });
    expect(invalid.status).toBe(400);
    expect(JSON.stringify(invalid.body)).toContain('fields.0.dataType');
  });

  it('starts jobs from a saved template', async () => {
    const t = await api<{ id: string }>('POST', '/api/v1/templates', {
      name: 'Invoice basics',
      fields: [
        { name: 'total', dataType: 'currency', description: 'hints: total due' },
        { name: 'invoice_date', dataType: 'date' },
      ],
    });
    expect(t.status).toBe(201);
    const fromTemplate = await api<JobView>('POST', '/api/v1/extraction-jobs', {
      name: 'From a template',
      templateId: t.body.id,
    });
    expect(fromTemplate.status).toBe(201);
    expect(fromTemplate.body.templateId).toBe(t.body.id);
    // Lists answer the platform's envelope, `data`; `items` stays for existing callers.
    const jobs = await api<{ data: JobView[]; items: JobView[] }>('GET', '/api/v1/extraction-jobs');
    expect(jobs.body.data.map((j) => j.id)).toContain(fromTemplate.body.id);
    expect(jobs.body.items).toEqual(jobs.body.data);
    expect(fromTemplate.body.fields.map((f) => [f.name, f.dataType])).toEqual([
      ['total', 'currency'],
      ['invoice_date', 'date'],
    ]);
    const listed = await api<Array<{ id: string }>>('GET', '/api/v1/templates');
    expect(listed.body.map((x) => x.id)).toContain(t.body.id);
    const unknown = await api('POST', '/api/v1/extraction-jobs', {
      name: 'x',
      templateId: '00000000-0000-4000-8000-000000000000',
    });
    expect(unknown.status).toBe(404);
    expect((await api('POST', '/api/v1/extraction-jobs', { name: 'no fields' })).status).toBe(400);
  });

  it('connects a Google account through the OAuth callback, keeping its tokens encrypted', async () => {
    account = await connect(ALICE);
    expect(account).toMatchObject({ provider: 'google', email: ALICE, connected: true });
    expect(account.scopes).toContain('https://www.googleapis.com/auth/gmail.readonly');
    expect(JSON.stringify(account)).not.toMatch(/token/i);
    const [row] = await ds.query<Array<{ access_token: Buffer; refresh_token: Buffer }>>(
      `SELECT access_token, refresh_token FROM extraction.integration_accounts WHERE id = $1`,
      [account.id],
    );
    const stored = `${row.access_token.toString('latin1')} ${row.refresh_token.toString('latin1')}`;
    const issued = [...google.accessTokens.keys(), ...google.refreshTokens.keys()];
    expect(issued.length).toBeGreaterThanOrEqual(2);
    for (const t of issued) expect(stored).not.toContain(t);
    expect(row.access_token.toString('utf8')).toMatch(/^v1\.k1\./);
    // A state that is not this caller's, or tampered with, is refused.
    const bad = await api(
      'GET',
      `/api/v1/integrations/google/callback?code=x&state=${'e30'}.${'A'.repeat(43)}`,
    );
    expect(bad.status).toBe(400);
    expect(bad.res.headers['content-type']).toContain('application/problem+json');
  });

  it('runs a job over uploaded, Drive and Gmail PDFs, extracting the known values', async () => {
    const created = await api<JobView>('POST', '/api/v1/extraction-jobs', {
      name: 'Vendor invoices',
      fields: INVOICE_FIELDS,
    });
    expect(created.body).toMatchObject({ name: 'Vendor invoices' });
    expect(created.status).toBe(201);
    job = created.body;
    expect(job.fields.map((f) => f.name)).toEqual(INVOICE_FIELDS.map((f) => f.name));

    const uploads = [];
    for (const n of [0, 1, 2])
      uploads.push(await upload(job.id, `invoice-${n}.pdf`, await invoice(n)));
    expect(uploads.map((u) => u.status)).toEqual([201, 201, 201]);
    // The same content again is the same file, not a second one.
    const again = await upload(job.id, 'copy-of-invoice-0.pdf', await invoice(0));
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(uploads[0].body.id);
    const notPdf = await upload(job.id, 'notes.txt', Buffer.from('just text'));
    expect(notPdf.status).toBe(422);
    expect(notPdf.body).toMatchObject({ detail: expect.stringContaining('not a PDF') });

    const drive = await simPost<{ id: string }>('/_sim/google/drive/files', {
      owner: ALICE,
      name: 'invoice-3.pdf',
      mimeType: 'application/pdf',
      dataBase64: b64(await invoice(3)),
    });
    const fromDrive = await api<SourceFileView>('POST', `/api/v1/extraction-jobs/${job.id}/files`, {
      source: 'gdrive',
      accountId: account.id,
      fileId: drive.id,
    });
    expect(fromDrive.status).toBe(201);
    expect(fromDrive.body).toMatchObject({
      sourceType: 'gdrive',
      externalId: drive.id,
      fileName: 'invoice-3.pdf',
    });
    const mail = await simPost<{ id: string; attachmentIds: string[] }>(
      '/_sim/google/gmail/messages',
      {
        to: ALICE,
        from: 'billing@vendor.example',
        subject: 'Invoice 4',
        attachments: [
          {
            filename: 'invoice-4.pdf',
            mimeType: 'application/pdf',
            dataBase64: b64(await invoice(4)),
          },
        ],
      },
    );
    const fromGmail = await api<SourceFileView>('POST', `/api/v1/extraction-jobs/${job.id}/files`, {
      source: 'gmail',
      accountId: account.id,
      messageId: mail.id,
      attachmentId: mail.attachmentIds[0],
    });
    expect(fromGmail.status).toBe(201);
    expect(fromGmail.body).toMatchObject({
      sourceType: 'gmail',
      externalId: `${mail.id}:${mail.attachmentIds[0]}`,
    });
    const missing = await api('POST', `/api/v1/extraction-jobs/${job.id}/files`, {
      source: 'gdrive',
      accountId: account.id,
      fileId: 'no-such-file',
    });
    expect(missing.status).toBe(404);
    // A PDF no reader can open: its task fails after its attempts, the others go on.
    const broken = await upload(
      job.id,
      'broken.pdf',
      Buffer.from('%PDF-1.4\nthis is not a real pdf'),
    );
    expect(broken.status).toBe(201);

    const started = await api<RunView>('POST', `/api/v1/extraction-jobs/${job.id}/runs`);
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ runNumber: 1, tasksTotal: 6, status: 'pending' });
    firstRun = await finished(started.body.id);
    expect(firstRun).toMatchObject({
      status: 'partially_completed',
      tasksTotal: 6,
      tasksCompleted: 5,
      tasksFailed: 1,
    });
    const { results: rows } = await results(firstRun.id);
    const byName = new Map(rows.map((r) => [r.fileName, r]));
    for (const n of [0, 1, 2, 3, 4]) {
      const r = byName.get(`invoice-${n}.pdf`)!;
      expect(r.status).toBe('completed');
      const values = Object.fromEntries(Object.entries(r.data!).map(([k, v]) => [k, v.value]));
      expect(values).toEqual(expectedValues(sampleInvoice(n)));
      for (const v of Object.values(r.data!)) expect(v.confidence).toBeGreaterThanOrEqual(0.9);
    }
    expect(byName.get('broken.pdf')).toMatchObject({
      status: 'failed',
      data: null,
      error: expect.stringContaining('PDF'),
    });
    // The replicas' metrics add up to what happened.
    const metric = async (name: string, label: string) => {
      let total = 0;
      for (const s of services) {
        const text = (await s.inject({ method: 'GET', url: '/metrics' })).body;
        for (const line of text.split('\n'))
          if (line.startsWith(`${name}{`) && line.includes(label))
            total += Number(line.split(' ').pop());
      }
      return total;
    };
    expect(await metric('extraction_tasks_total', 'outcome="completed"')).toBe(5);
    expect(await metric('extraction_tasks_total', 'outcome="failed"')).toBe(1);
    expect(await metric('extraction_runs_finished_total', 'status="partially_completed"')).toBe(1);
    // Bytes are kept once per content, whichever job holds them.
    const other = await api<JobView>('POST', '/api/v1/extraction-jobs', {
      name: 'Other',
      fields: [{ name: 'total', dataType: 'currency' }],
    });
    await upload(other.body.id, 'same.pdf', await invoice(0));
    const keys = await ds.query<Array<{ n: number; keys: number }>>(
      `SELECT count(*)::int AS n, count(DISTINCT storage_key)::int AS keys FROM extraction.source_files
        WHERE content_hash = (SELECT content_hash FROM extraction.source_files WHERE id = $1)`,
      [uploads[0].body.id],
    );
    expect(keys).toEqual([{ n: 2, keys: 1 }]);
  });

  it('runs again after the fields change, leaving the first run as it was', async () => {
    const before = await results(firstRun.id);
    const changed = await api<JobView>('PUT', `/api/v1/extraction-jobs/${job.id}/fields`, {
      fields: [
        { name: 'total', dataType: 'currency', description: 'hints: total due' },
        { name: 'invoice_date', dataType: 'date' },
        { name: 'po_number', dataType: 'text', description: 'hints: purchase order' },
      ],
    });
    expect(changed.status).toBe(200);
    const files = await api<SourceFileView[]>('GET', `/api/v1/extraction-jobs/${job.id}/files`);
    const broken = files.body.find((f) => f.fileName === 'broken.pdf')!;
    expect(
      (await api('DELETE', `/api/v1/extraction-jobs/${job.id}/files/${broken.id}`)).status,
    ).toBe(204);
    const started = await api<RunView>('POST', `/api/v1/extraction-jobs/${job.id}/runs`);
    secondRun = await finished(started.body.id);
    expect(secondRun).toMatchObject({
      runNumber: 2,
      status: 'completed',
      tasksTotal: 5,
      tasksCompleted: 5,
      tasksFailed: 0,
    });
    expect(secondRun.fields.map((f) => f.name)).toEqual(['total', 'invoice_date', 'po_number']);
    const second = await results(secondRun.id);
    for (const r of second.results) {
      expect(Object.keys(r.data!)).toEqual(['total', 'invoice_date', 'po_number']);
      expect(r.data!.po_number).toEqual({ value: null, confidence: 0, raw: null });
    }
    // The first run: same fields, same files, same results.
    expect(await results(firstRun.id)).toEqual(before);
    const runs = await api<RunView[]>('GET', `/api/v1/extraction-jobs/${job.id}/runs`);
    expect(runs.body.map((r) => r.runNumber)).toEqual([2, 1]);
  });

  it('retries a task that keeps failing, then records it failed with its error', async () => {
    const lone = await api<JobView>('POST', '/api/v1/extraction-jobs', {
      name: 'Lone',
      fields: [{ name: 'total', dataType: 'currency' }],
    });
    const file = await upload(lone.body.id, 'lone.pdf', await invoice(900));
    // Its bytes vanish from storage: every attempt fails the same way.
    const [{ storage_key: key }] = await ds.query<Array<{ storage_key: string }>>(
      `SELECT storage_key FROM extraction.source_files WHERE id = $1`,
      [file.body.id],
    );
    await rm(join(storageRoot, key));
    const started = await api<RunView>('POST', `/api/v1/extraction-jobs/${lone.body.id}/runs`);
    const run = await finished(started.body.id);
    expect(run).toMatchObject({
      status: 'failed',
      tasksTotal: 1,
      tasksCompleted: 0,
      tasksFailed: 1,
    });
    const { results: rows } = await results(run.id);
    expect(rows).toEqual([
      expect.objectContaining({
        status: 'failed',
        attempts: 3,
        data: null,
        error: expect.stringContaining('not found'),
      }),
    ]);
  });

  const facturX = corpusFile('invoices', 'v2fail_FNFE-factur-x-examples_Facture_FR_EN16931.pdf');
  (facturX ? it : it.skip)(
    'reads e-invoices exactly: the XML a Factur-X PDF embeds, and a bare UBL or CII file',
    async () => {
      const created = await api<JobView>('POST', '/api/v1/extraction-jobs', {
        name: 'E-invoices',
        fields: [
          { name: 'invoice_number', dataType: 'text' },
          { name: 'total', dataType: 'currency' },
          { name: 'vat_id', dataType: 'text' },
          { name: 'due_date', dataType: 'date' },
        ],
      });
      expect(created.status).toBe(201);
      const id = created.body.id;
      const pdf = readFileSync(facturX!);
      expect((await upload(id, 'facture.pdf', pdf)).status).toBe(201);
      // A bare CII file: the header and totals of the credit note the corpus' FNFE example
      // embeds (v2fail_FNFE-factur-x-examples_Avoir_FR_type380_EN16931.pdf, factur-x.xml).
      const cii = Buffer.from(
        `<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
  <rsm:ExchangedDocument><ram:ID>AV-2017-0005</ram:ID><ram:IssueDateTime><udt:DateTimeString format="102">20171116</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
    <ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty><ram:Name>Au bon moulin</ram:Name><ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">FR11999999998</ram:ID></ram:SpecifiedTaxRegistration></ram:SellerTradeParty></ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:TaxBasisTotalAmount>-218.48</ram:TaxBasisTotalAmount><ram:TaxTotalAmount currencyID="EUR">-14.99</ram:TaxTotalAmount><ram:GrandTotalAmount>-233.47</ram:GrandTotalAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>`,
      );
      const xml = await upload(id, 'avoir.xml', cii);
      expect(xml.status).toBe(201);
      expect(xml.body.fileType).toBe('application/xml');
      const notInvoice = await upload(
        id,
        'order.xml',
        Buffer.from('<?xml version="1.0"?><Order/>'),
      );
      expect(notInvoice.status).toBe(422);
      const started = await api<RunView>('POST', `/api/v1/extraction-jobs/${id}/runs`);
      expect((await finished(started.body.id)).status).toBe('completed');
      const byFile = new Map(
        (await results(started.body.id)).results.map((r) => [r.fileName, r.data!]),
      );
      expect(byFile.get('facture.pdf')).toEqual({
        invoice_number: {
          value: 'FA-2017-0010',
          confidence: 1,
          raw: 'FA-2017-0010',
          source: 'einvoice',
        },
        total: {
          value: { amount: 671.15, currency: 'EUR' },
          confidence: 1,
          raw: '671.15',
          source: 'einvoice',
        },
        vat_id: { value: 'FR11999999998', confidence: 1, raw: 'FR11999999998', source: 'einvoice' },
        due_date: { value: '2017-12-13', confidence: 1, raw: '2017-12-13', source: 'einvoice' },
      });
      expect(byFile.get('avoir.xml')).toEqual({
        invoice_number: {
          value: 'AV-2017-0005',
          confidence: 1,
          raw: 'AV-2017-0005',
          source: 'einvoice',
        },
        total: {
          value: { amount: -233.47, currency: 'EUR' },
          confidence: 1,
          raw: '-233.47',
          source: 'einvoice',
        },
        vat_id: { value: 'FR11999999998', confidence: 1, raw: 'FR11999999998', source: 'einvoice' },
        // Not in the file, and nothing else to read it from.
        due_date: { value: null, confidence: 0, raw: null },
      });
    },
  );

  it('runs the model engine against an OpenAI-compatible API: structured output, answers checked against the text', async () => {
    const created = await api<JobView>('POST', '/api/v1/extraction-jobs', {
      name: 'Model invoices',
      engine: 'model',
      fields: [
        { name: 'invoice_number', dataType: 'text' },
        { name: 'total', dataType: 'currency', description: 'hints: total due' },
        { name: 'invoice_date', dataType: 'date' },
        { name: 'customer', dataType: 'name', description: 'hints: bill to' },
      ],
    });
    expect(created.status).toBe(201);
    expect(created.body.engine).toBe('model');
    const inv = sampleInvoice(21);
    expect((await upload(created.body.id, 'inv-21.pdf', await invoicePdf(inv))).status).toBe(201);
    openai.reset();
    // The model names a customer the document does not hold; the API is rate limited once.
    openai.config.lies = { customer: 'Nobody Real' };
    openai.config.faults = [{ status: 429, times: 1, retryAfterSeconds: 0 }];
    const run = await api<RunView>('POST', `/api/v1/extraction-jobs/${created.body.id}/runs`);
    expect(run.status).toBe(202);
    expect(run.body.engine).toBe('model');
    expect((await finished(run.body.id)).status).toBe('completed');
    const [r] = (await results(run.body.id)).results;
    expect(r.data!.invoice_number).toMatchObject({ value: inv.number, source: 'model' });
    expect(r.data!.invoice_number.confidence).toBeGreaterThanOrEqual(0.9);
    expect(r.data!.total).toMatchObject({
      value: { amount: inv.total, currency: 'USD' },
      source: 'model',
    });
    expect(r.data!.invoice_date.value).toBe(inv.date);
    // Not in the text: kept, marked, and not believed.
    expect(r.data!.customer).toMatchObject({
      value: 'Nobody Real',
      unsupported: true,
      confidence: 0.1,
    });
    // Tokens and cost as the API counted them; the 429 was retried by the client.
    expect(r.usage).toMatchObject({ model: 'gpt-4o-mini', requests: 2 });
    expect(r.usage!.promptTokens).toBeGreaterThan(50);
    expect(r.usage!.completionTokens).toBeGreaterThan(5);
    const cost = (r.usage!.promptTokens * 0.15 + r.usage!.completionTokens * 0.6) / 1e6;
    expect(r.usage!.costUsd).toBeCloseTo(cost, 6);
    // What was asked: the fields as a strict JSON schema, the document's text in the prompt.
    const asked = openai.requests[openai.requests.length - 1];
    expect(asked.model).toBe('gpt-4o-mini');
    expect(asked.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: {
        strict: true,
        schema: { required: ['invoice_number', 'total', 'invoice_date', 'customer'] },
      },
    });
    // The text with its layout, then the first page as an image (MODEL_PAGE_IMAGES=1).
    const user = asked.messages?.find((m) => m.role === 'user')?.content as Array<{
      type: string;
      text?: string;
      image_url?: { url: string };
    }>;
    expect(user.map((p) => p.type)).toEqual(['text', 'image_url']);
    expect(user[0].text).toContain(inv.number);
    const png = Buffer.from(
      user[1].image_url!.url.replace(/^data:image\/png;base64,/, ''),
      'base64',
    );
    expect(png.subarray(1, 4).toString()).toBe('PNG');

    // The same job run once with the rules engine: the run records it; no model is asked.
    const before = openai.requests.length;
    const rules = await api<RunView>('POST', `/api/v1/extraction-jobs/${created.body.id}/runs`, {
      engine: 'rules',
    });
    expect(rules.body.engine).toBe('rules');
    await finished(rules.body.id);
    const [rr] = (await results(rules.body.id)).results;
    expect(rr.data!.total.value).toEqual({ amount: inv.total, currency: 'USD' });
    expect(rr.usage).toBeNull();
    expect(openai.requests.length).toBe(before);
    // Settings are the job's to change; a bad one is a 400 naming it.
    const bad = await api<{ detail: string }>(
      'PATCH',
      `/api/v1/extraction-jobs/${created.body.id}`,
      {
        engine: 'oracle',
      },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toContain('engine');
    const patched = await api<JobView>('PATCH', `/api/v1/extraction-jobs/${created.body.id}`, {
      engine: null,
      defaultCurrency: 'eur',
    });
    expect(patched.body).toMatchObject({ engine: null, defaultCurrency: 'EUR' });
  });

  it('reads a scanned invoice by OCR, in the worker pool, with its confidence carried', async () => {
    const created = await api<JobView>('POST', '/api/v1/extraction-jobs', {
      name: 'Scans',
      fields: [
        { name: 'invoice_number', dataType: 'text' },
        { name: 'total', dataType: 'currency', description: 'hints: total due' },
      ],
    });
    const inv = sampleInvoice(22);
    const pdf = await invoicePdf(inv);
    // The same invoice with its text layer, and scanned (an image of each page, no text).
    expect((await upload(created.body.id, 'text.pdf', pdf)).status).toBe(201);
    expect((await upload(created.body.id, 'scan.pdf', await scannedPdf(pdf))).status).toBe(201);
    const run = await api<RunView>('POST', `/api/v1/extraction-jobs/${created.body.id}/runs`);
    expect((await finished(run.body.id, 60_000)).status).toBe('completed');
    const byName = new Map((await results(run.body.id)).results.map((r) => [r.fileName, r.data!]));
    const [text, scan] = [byName.get('text.pdf')!, byName.get('scan.pdf')!];
    expect(scan.total).toMatchObject({
      value: { amount: inv.total, currency: 'USD' },
      source: 'ocr',
    });
    expect(scan.invoice_number).toMatchObject({ value: inv.number, source: 'ocr' });
    expect(text.total.source).toBeUndefined();
    // OCR's confidence in the line scales the rule's own: the scan is believed less.
    expect(scan.total.confidence).toBeGreaterThan(0.5);
    expect(scan.total.confidence).toBeLessThan(text.total.confidence);
  });

  it('exports a run as csv and xlsx, to a download, Drive and Gmail', async () => {
    const { results: rows } = await results(secondRun.id);
    // Money as its amount (a number) with its currency beside it; dates as ISO dates.
    const expectedRows = rows.map((r) => [
      r.fileName,
      r.sourceType,
      'completed',
      String((r.data!.total.value as { amount: number }).amount),
      'USD',
      String(r.data!.invoice_date.value),
      '',
    ]);

    const csv = await api<ExportView>('POST', `/api/v1/job-runs/${secondRun.id}/exports`, {
      destType: 'download',
      fileType: 'csv',
    });
    expect(csv.status).toBe(202);
    expect(csv.body.status).toBe('pending');
    expect(await exported(csv.body.id)).toMatchObject({
      status: 'completed',
      fileName: 'vendor-invoices-run-2.csv',
    });
    const csvFile = await api('GET', `/api/v1/job-exports/${csv.body.id}/download`);
    expect(csvFile.res.headers['content-type']).toContain('text/csv');
    expect(csvFile.res.headers['content-disposition']).toBe(
      `attachment; filename="vendor-invoices-run-2.csv"; filename*=UTF-8''vendor-invoices-run-2.csv`,
    );
    const table: string[][] = parse(csvFile.res.body);
    expect(table[0].slice(0, 7)).toEqual([
      'file_name',
      'source_type',
      'status',
      'total',
      'total_currency',
      'invoice_date',
      'po_number',
    ]);
    expect(table.slice(1).map((r) => r.slice(0, 7))).toEqual(expectedRows);

    const xlsx = await api<ExportView>('POST', `/api/v1/job-runs/${secondRun.id}/exports`, {
      destType: 'download',
      fileType: 'xlsx',
    });
    await exported(xlsx.body.id);
    const xlsxFile = await api('GET', `/api/v1/job-exports/${xlsx.body.id}/download`);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(xlsxFile.res.rawPayload);
    const sheet = wb.getWorksheet('Results')!;
    const cells: string[][] = [];
    sheet.eachRow((row) =>
      cells.push(
        // Array.from: an empty cell is a hole in row.values.
        Array.from(row.values as Array<string | number | boolean | Date | null | undefined>)
          .slice(1)
          .map((v) =>
            v === null || v === undefined
              ? ''
              : v instanceof Date
                ? v.toISOString().slice(0, 10)
                : String(v),
          ),
      ),
    );
    expect(cells[0].slice(0, 7)).toEqual(table[0].slice(0, 7));
    expect(cells.slice(1).map((r) => r.slice(0, 7))).toEqual(expectedRows);
    // Amounts and confidences are numbers in the workbook, dates are dates.
    const first = sheet.getRow(2);
    expect(typeof first.getCell(4).value).toBe('number');
    expect(first.getCell(6).value).toBeInstanceOf(Date);
    expect(first.getCell(6).numFmt).toBe('yyyy-mm-dd');
    expect(typeof first.getCell(8).value).toBe('number');

    const toDrive = await api<ExportView>('POST', `/api/v1/job-runs/${secondRun.id}/exports`, {
      destType: 'gdrive',
      fileType: 'csv',
      accountId: account.id,
      folderId: 'folder-reports',
    });
    const drive = await exported(toDrive.body.id);
    expect(drive.status).toBe('completed');
    const uploaded = (await (
      await fetch(`${simUrl}/_sim/google/drive/files/${drive.externalId}`)
    ).json()) as {
      name: string;
      parents: string[];
      data: string;
    };
    expect(uploaded).toMatchObject({
      name: 'vendor-invoices-run-2.csv',
      parents: ['folder-reports'],
    });
    expect(parse(Buffer.from(uploaded.data, 'base64'))).toEqual(table);

    const byMail = await api<ExportView>('POST', `/api/v1/job-runs/${secondRun.id}/exports`, {
      destType: 'gmail',
      fileType: 'xlsx',
      accountId: account.id,
      to: 'auditor@example.org',
    });
    expect((await exported(byMail.body.id)).status).toBe('completed');
    const state = (await (await fetch(`${simUrl}/_sim/google/state`)).json()) as {
      sent: Array<{ to: string; subject: string; raw: string }>;
    };
    const sent = state.sent.find((s) => s.to === 'auditor@example.org')!;
    expect(sent.subject).toBe('Extraction results: Vendor invoices, run 2');
    expect(sent.raw).toContain('filename=vendor-invoices-run-2.xlsx');

    // Refusals name what is wrong.
    const noAccount = await api('POST', `/api/v1/job-runs/${secondRun.id}/exports`, {
      destType: 'gdrive',
      fileType: 'csv',
    });
    expect(noAccount.status).toBe(400);
    expect(noAccount.body).toMatchObject({ detail: expect.stringContaining('accountId') });
    const badType = await api('POST', `/api/v1/job-runs/${secondRun.id}/exports`, {
      destType: 'download',
      fileType: 'pdf',
    });
    expect(badType.status).toBe(400);
  });

  it('rides out transient Google failures and records a refusal as a failed export', async () => {
    // Drive answers 503 twice, then recovers: the upload is retried and lands.
    google.config.faults = [{ api: 'drive', status: 503, times: 2 }];
    const uploads = calls('drive:upload');
    const toDrive = await api<ExportView>('POST', `/api/v1/job-runs/${secondRun.id}/exports`, {
      destType: 'gdrive',
      fileType: 'xlsx',
      accountId: account.id,
    });
    expect(await exported(toDrive.body.id)).toMatchObject({ status: 'completed' });
    expect(calls('drive:fault')).toBeGreaterThanOrEqual(2);
    expect(calls('drive:upload') - uploads).toBe(3);

    // Gmail refuses (403) until told otherwise: the export fails with the reason, once.
    google.config.faults = [{ api: 'gmail', status: 403 }];
    const byMail = await api<ExportView>('POST', `/api/v1/job-runs/${secondRun.id}/exports`, {
      destType: 'gmail',
      fileType: 'csv',
      accountId: account.id,
      to: 'auditor@example.org',
    });
    const failed = await exported(byMail.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.errorMessage).toContain('Simulated failure');
    const events = await ds.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM extraction.outbox WHERE event_name = 'extraction.export.failed.v1' AND payload->>'exportId' = $1`,
      [byMail.body.id],
    );
    expect(events).toEqual([{ n: 1 }]);
    const notReady = await api('GET', `/api/v1/job-exports/${byMail.body.id}/download`);
    expect(notReady.status).toBe(409);
    google.config.faults = [];
  });

  it('refreshes an expired token once however many callers need it, and again after a 401', async () => {
    const files = [];
    for (const n of [10, 11, 12, 13, 14, 15])
      files.push(
        await simPost<{ id: string }>('/_sim/google/drive/files', {
          owner: ALICE,
          name: `d-${n}.pdf`,
          mimeType: 'application/pdf',
          dataBase64: b64(await invoice(n)),
        }),
      );
    await ds.query(
      `UPDATE extraction.integration_accounts SET expires_at = now() - interval '1 minute' WHERE id = $1`,
      [account.id],
    );
    google.config.tokenDelayMs = 300;
    const refreshes = calls('token:refresh_token');
    // Six adds at once, spread over both replicas by the broker.
    const adds = await Promise.all(
      files.map((f) =>
        api('POST', `/api/v1/extraction-jobs/${job.id}/files`, {
          source: 'gdrive',
          accountId: account.id,
          fileId: f.id,
        }),
      ),
    );
    expect(adds.map((a) => a.status)).toEqual([201, 201, 201, 201, 201, 201]);
    expect(calls('token:refresh_token') - refreshes).toBe(1);
    google.config.tokenDelayMs = 0;

    // Google revokes the access token early: a 401, one refresh, the call succeeds.
    await simPost('/_sim/google/expire-access-tokens');
    const drive = await simPost<{ id: string }>('/_sim/google/drive/files', {
      owner: ALICE,
      name: 'late.pdf',
      mimeType: 'application/pdf',
      dataBase64: b64(await invoice(16)),
    });
    const late = await api('POST', `/api/v1/extraction-jobs/${job.id}/files`, {
      source: 'gdrive',
      accountId: account.id,
      fileId: drive.id,
    });
    expect(late.status).toBe(201);
    expect(calls('token:refresh_token') - refreshes).toBe(2);
  });

  it('disconnects an account: revoked at Google, tokens erased, no longer usable', async () => {
    const carol = await connect('carol@example.com');
    const revokes = calls('token:revoke');
    const out = await api<IntegrationAccountView>(
      'DELETE',
      `/api/v1/integration-accounts/${carol.id}`,
    );
    expect(out.status).toBe(200);
    expect(out.body.connected).toBe(false);
    expect(calls('token:revoke') - revokes).toBe(1);
    const [row] = await ds.query<
      Array<{ access_token: Buffer | null; refresh_token: Buffer | null }>
    >(`SELECT access_token, refresh_token FROM extraction.integration_accounts WHERE id = $1`, [
      carol.id,
    ]);
    expect(row).toEqual({ access_token: null, refresh_token: null });
    const refused = await api('POST', `/api/v1/extraction-jobs/${job.id}/files`, {
      source: 'gdrive',
      accountId: carol.id,
      fileId: 'x',
    });
    expect(refused.status).toBe(409);
  });

  it('fires an automation once per new matching attachment, then runs the job and exports', async () => {
    const auto = await api<{ id: string }>('POST', '/api/v1/automations', {
      name: 'Vendor mail',
      triggerType: 'gmail_attachment',
      triggerConfig: {
        query: 'from:vendor@example.com has:attachment',
        mimeTypes: ['application/pdf'],
      },
      jobId: job.id,
      integrationAccountId: account.id,
      exportConfig: { dest: 'gdrive', fileType: 'csv', folderId: 'auto-reports' },
    });
    expect(auto.status).toBe(201);
    // Gmail is asked to push for the mailbox.
    expect(google.mailbox(ALICE).watch?.topicName).toMatch(/^projects\//);
    const send = async (from: string, files: Array<[string, string, Buffer]>) =>
      simPost<{ id: string; historyId: number; attachmentIds: string[] }>(
        '/_sim/google/gmail/messages',
        {
          to: ALICE,
          from,
          subject: 'Invoices attached',
          attachments: files.map(([filename, mimeType, data]) => ({
            filename,
            mimeType,
            dataBase64: b64(data),
          })),
        },
      );
    // As Pub/Sub delivers: Google's identity token for the subscription, no API key.
    const push = async (historyId: number) =>
      pushAs(await google.oidc.token(PUSH_AUDIENCE, PUSH_ACCOUNT), historyId);
    const m1 = await send('Vendor <vendor@example.com>', [
      ['inv-5.pdf', 'application/pdf', await invoice(5)],
      ['inv-6.pdf', 'application/pdf', await invoice(6)],
      ['logo.png', 'image/png', Buffer.from('png')],
    ]);
    const m2 = await send('someone@else.example', [
      ['inv-7.pdf', 'application/pdf', await invoice(7)],
    ]);
    // Pub/Sub delivers at least once: the same notification twice.
    expect((await push(m2.historyId)).status).toBe(204);
    expect((await push(m2.historyId)).status).toBe(204);

    const runsOf = async () =>
      (await api<AutomationRunView[]>('GET', `/api/v1/automations/${auto.body.id}/runs`)).body;
    const fired = await eventually(async () => {
      const r = await runsOf();
      if (r.length !== 2 || r.some((x) => x.status !== 'completed'))
        throw new Error(JSON.stringify(r));
      return r;
    }, 30_000);
    expect(new Set(fired.map((f) => f.messageId))).toEqual(new Set([m1.id]));
    expect(new Set(fired.map((f) => f.attachmentId))).toEqual(
      new Set(m1.attachmentIds.slice(0, 2)),
    );
    for (const f of fired) {
      const { run, results: rows } = await results(f.runId!);
      expect(run).toMatchObject({ status: 'completed', tasksTotal: 1, automationId: auto.body.id });
      const n = rows[0].fileName === 'inv-5.pdf' ? 5 : 6;
      expect(rows[0].data!.total.value).toEqual({
        amount: sampleInvoice(n).total,
        currency: 'USD',
      });
      const e = await api<ExportView>('GET', `/api/v1/job-exports/${f.exportId}`);
      expect(e.body).toMatchObject({ status: 'completed', destType: 'gdrive' });
      expect(google.drive.get(e.body.externalId!)?.parents).toEqual(['auto-reports']);
    }

    // Gmail forgets history; a new mail arrives; the next sync re-syncs and fires only for it.
    await simPost(`/_sim/google/gmail/${ALICE}/expire-history`);
    const m3 = await send('vendor@example.com', [
      ['inv-8.pdf', 'application/pdf', await invoice(8)],
    ]);
    await push(m3.historyId);
    const after = await eventually(async () => {
      const r = await runsOf();
      if (r.length !== 3 || r.some((x) => x.status !== 'completed'))
        throw new Error(JSON.stringify(r));
      return r;
    }, 30_000);
    expect(after.filter((r) => r.messageId === m3.id)).toHaveLength(1);
    await push(m3.historyId);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await runsOf()).toHaveLength(3);
    // An attachment that cannot be read any more is a failed firing with its reason; the
    // automation goes on with the next mail.
    const m4 = await send('vendor@example.com', [
      ['inv-9.pdf', 'application/pdf', await invoice(9)],
    ]);
    await simPost(`/_sim/google/gmail/${ALICE}/messages/${m4.id}/drop-attachments`);
    await push(m4.historyId);
    const m5 = await send('vendor@example.com', [
      ['inv-10.pdf', 'application/pdf', await invoice(10)],
    ]);
    await push(m5.historyId);
    const later = await eventually(async () => {
      const r = await runsOf();
      if (r.length !== 5 || r.some((x) => x.status === 'pending'))
        throw new Error(JSON.stringify(r));
      return r;
    }, 30_000);
    expect(later.find((r) => r.messageId === m4.id)).toMatchObject({
      status: 'failed',
      runId: null,
      errorMessage: expect.stringContaining('could not be read'),
    });
    expect(later.find((r) => r.messageId === m5.id)?.status).toBe('completed');

    // The database, not this code, refuses a second firing for the same attachment.
    await expect(
      ds.query(
        `INSERT INTO extraction.automation_runs (automation_id, message_id, attachment_id) VALUES ($1, $2, $3)`,
        [auto.body.id, m3.id, after.find((r) => r.messageId === m3.id)!.attachmentId],
      ),
    ).rejects.toThrow(/uq_automation_runs_attachment/);
  });

  it("accepts a Gmail push only with Google's identity token for the configured audience and account", async () => {
    // New mail (nothing an automation wants): an accepted push would make the service sync.
    const { historyId: history } = await simPost<{ historyId: number }>(
      '/_sim/google/gmail/messages',
      { to: ALICE, from: 'newsletter@example.net', subject: 'News', attachments: [] },
    );
    const synced = calls('gmail:history');
    // Signed by a key that is not Google's: same claims, same kid, wrong signature.
    const forger = new GoogleOidc();
    const forged = await forger.token(PUSH_AUDIENCE, PUSH_ACCOUNT);
    const [h, p] = forged.split('.');
    const [realHeader] = (await google.oidc.token(PUSH_AUDIENCE, PUSH_ACCOUNT)).split('.');
    const refusals: Array<[string, { status: number; body: { detail?: string } }]> = [
      ['forged signature', await pushAs(`${realHeader}.${p}.${forged.split('.')[2]}`, history)],
      ['unknown key', await pushAs(`${h}.${p}.${forged.split('.')[2]}`, history)],
      [
        'other audience',
        await pushAs(await google.oidc.token('https://elsewhere.example', PUSH_ACCOUNT), history),
      ],
      [
        'other account',
        await pushAs(
          await google.oidc.token(PUSH_AUDIENCE, 'intruder@example.iam.gserviceaccount.com'),
          history,
        ),
      ],
      [
        'expired',
        await pushAs(
          await google.oidc.token(PUSH_AUDIENCE, PUSH_ACCOUNT, {
            iat: 1_550_182_335,
            exp: 1_550_185_935,
          }),
          history,
        ),
      ],
      [
        'other issuer',
        await pushAs(
          await google.oidc.token(PUSH_AUDIENCE, PUSH_ACCOUNT, { iss: 'https://evil.example' }),
          history,
        ),
      ],
      [
        'email not verified',
        await pushAs(
          await google.oidc.token(PUSH_AUDIENCE, PUSH_ACCOUNT, { email_verified: false }),
          history,
        ),
      ],
      // An API key, even the development key with every scope, is not the push's credential.
      ['API key only', await pushAs(null, history, { 'x-api-key': KEY })],
    ];
    for (const [what, r] of refusals) {
      expect({ what, status: r.status }).toEqual({ what, status: 401 });
      expect(r.body.detail).toBeTruthy();
      expect(r.body.detail).not.toContain('eyJ'); // the token is never echoed
    }
    // The valid token is accepted; none of the refused pushes reached the service.
    expect(
      (await pushAs(await google.oidc.token(PUSH_AUDIENCE, PUSH_ACCOUNT), history)).status,
    ).toBe(204);
    expect(calls('gmail:history')).toBeGreaterThanOrEqual(synced);
  });

  it('sweeps: renews a lapsing watch, queues a task whose message was lost, announces a straggler', async () => {
    const maintenance = services[0].get(Maintenance);
    // A watch lapsing within the renewal window is renewed (the sweep queues it, a worker renews).
    await ds.query(
      `UPDATE extraction.integration_accounts SET watch_expires_at = now() + interval '1 hour' WHERE id = $1`,
      [account.id],
    );
    const watches = calls('gmail:watch');
    expect(await maintenance.renewWatches()).toBe(1);
    // Queued once: a second tick does not queue it again while it is pending or done.
    expect(await maintenance.renewWatches()).toBe(0);
    await eventually(async () => {
      const [w] = await ds.query<Array<{ days: number }>>(
        `SELECT extract(epoch FROM watch_expires_at - now()) / 86400 AS days FROM extraction.integration_accounts WHERE id = $1`,
        [account.id],
      );
      expect(Number(w.days)).toBeGreaterThan(6.9);
    });
    expect(calls('gmail:watch') - watches).toBe(1);
    expect(await maintenance.renewWatches()).toBe(0);

    // A run whose task message never reached the queue: the sweep queues it again.
    const files = await api<SourceFileView[]>('GET', `/api/v1/extraction-jobs/${job.id}/files`);
    const [lost] = await ds.query<Array<{ id: string }>>(
      `INSERT INTO extraction.job_runs (job_id, run_number, fields_snapshot, tasks_total)
       SELECT $1, 1 + max(run_number), (SELECT fields_snapshot FROM extraction.job_runs WHERE id = $2), 1
         FROM extraction.job_runs WHERE job_id = $1 RETURNING id`,
      [job.id, secondRun.id],
    );
    await ds.query(
      `INSERT INTO extraction.extraction_tasks (job_id, run_id, source_file_id, updated_at)
       VALUES ($1, $2, $3, now() - interval '1 hour')`,
      [job.id, lost.id, files.body[0].id],
    );
    expect(await maintenance.requeueStaleTasks()).toBe(1);
    expect(await finished(lost.id)).toMatchObject({ status: 'completed', tasksCompleted: 1 });

    // An export whose message was lost: queued again, then done.
    const [lostExport] = await ds.query<Array<{ id: string }>>(
      `INSERT INTO extraction.job_exports (run_id, dest_type, file_type, updated_at)
       VALUES ($1, 'download', 'csv', now() - interval '1 hour') RETURNING id`,
      [secondRun.id],
    );
    expect(await maintenance.requeueStaleExports()).toBe(1);
    expect(await exported(lostExport.id)).toMatchObject({ status: 'completed' });

    // A run finished but never announced (its worker died in between) is announced once.
    await ds.query(
      `UPDATE extraction.job_runs SET announced_at = NULL, completed_at = now() - interval '1 minute' WHERE id = $1`,
      [lost.id],
    );
    const before = await ds.query<unknown[]>(
      `SELECT id FROM extraction.outbox WHERE event_name = 'extraction.run.completed.v1' AND payload->>'runId' = $1`,
      [lost.id],
    );
    expect(await maintenance.announceFinishedRuns()).toBe(1);
    expect(await maintenance.announceFinishedRuns()).toBe(0);
    const after = await ds.query<unknown[]>(
      `SELECT id FROM extraction.outbox WHERE event_name = 'extraction.run.completed.v1' AND payload->>'runId' = $1`,
      [lost.id],
    );
    expect(after.length - before.length).toBe(1);
  });

  it('finishes a run with exact counters when a worker is killed in the middle of it', async () => {
    const big = await api<JobView>('POST', '/api/v1/extraction-jobs', {
      name: 'Long invoices',
      fields: INVOICE_FIELDS,
    });
    for (let n = 100; n < 124; n++)
      expect(
        (await upload(big.body.id, `long-${n}.pdf`, await invoicePdf(sampleInvoice(n), 40))).status,
      ).toBe(201);
    // Only a worker in its own process takes tasks now.
    for (const s of services) await s.close();
    services = [];
    const port = await freePort();
    const t = testEnv();
    const child: ChildProcess = spawn(
      process.execPath,
      ['-r', '@swc-node/register', 'apps/extraction/src/main.ts'],
      {
        cwd: join(__dirname, '..'),
        env: {
          ...process.env,
          ...env,
          SWC_NODE_PROJECT: 'tsconfig.json',
          NODE_ENV: 'test',
          LOG_LEVEL: 'silent',
          DATABASE_URL: t.databaseUrl,
          RABBITMQ_URL: t.rabbitUrl,
          HEALTH_PORT: String(port),
          EVENT_PREFETCH: '6',
          EVENT_RETRY_DELAYS_MS: '100,200',
          OUTBOX_POLL_MS: '200',
        },
        stdio: 'ignore',
      },
    );
    try {
      await eventually(
        async () => {
          const r = await fetch(`http://127.0.0.1:${port}/health/ready`);
          if (!r.ok) throw new Error(`not ready: ${r.status}`);
        },
        45_000,
        250,
      );
      const started = await api<RunView>('POST', `/api/v1/extraction-jobs/${big.body.id}/runs`);
      expect(started.status).toBe(202);
      // Kill it once it has finished some tasks and holds others it has claimed.
      await eventually(
        async () => {
          const [r] = await ds.query<Array<{ tasks_completed: number; processing: number }>>(
            `SELECT r.tasks_completed, (SELECT count(*)::int FROM extraction.extraction_tasks t
                     WHERE t.run_id = r.id AND t.status = 'processing') AS processing
               FROM extraction.job_runs r WHERE r.id = $1`,
            [started.body.id],
          );
          if (r.tasks_completed < 1 || r.processing < 1) throw new Error('not yet');
        },
        30_000,
        10,
      );
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      // A statement the worker sent just before it died still commits; let it land.
      await new Promise((r) => setTimeout(r, 500));
      const [mid] = await ds.query<Array<{ tasks_completed: number; processing: number }>>(
        `SELECT r.tasks_completed, (SELECT count(*)::int FROM extraction.extraction_tasks t
                 WHERE t.run_id = r.id AND t.status = 'processing') AS processing
           FROM extraction.job_runs r WHERE r.id = $1`,
        [started.body.id],
      );
      expect(mid.tasks_completed).toBeLessThan(24);

      // A new worker takes over what the dead one held (the broker redelivers it).
      services = await startService(ExtractionService, testServiceConfig(env, extractionSchema));
      const run = await finished(started.body.id, 60_000);
      expect(run).toMatchObject({
        status: 'completed',
        tasksTotal: 24,
        tasksCompleted: 24,
        tasksFailed: 0,
      });
      const [counts] = await ds.query<Array<{ results: number; tasks: number; retried: number }>>(
        `SELECT (SELECT count(*)::int FROM extraction.extraction_results WHERE run_id = $1) AS results,
                (SELECT count(*)::int FROM extraction.extraction_tasks WHERE run_id = $1 AND status = 'completed') AS tasks,
                (SELECT count(*)::int FROM extraction.extraction_tasks WHERE run_id = $1 AND attempts > 1) AS retried`,
        [started.body.id],
      );
      expect(counts.results).toBe(24);
      expect(counts.tasks).toBe(24);
      // Tasks the killed worker had claimed were claimed again, and counted once.
      expect(counts.retried).toBe(mid.processing);
      const { results: rows } = await results(started.body.id);
      for (const r of rows) {
        const n = Number(/long-(\d+)/.exec(r.fileName)![1]);
        expect(r.data!.invoice_number.value).toBe(sampleInvoice(n).number);
      }
    } finally {
      child.kill('SIGKILL');
    }
  }, 180_000);
});
