import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { DataSource } from 'typeorm';
import type { UploadView } from '@app/contracts';
import { EventBus } from '@app/messaging';
import { serviceDataSource } from '@app/service-kit';
import { eventually, sleep, testEnv, testServiceConfig, lighthouseClientKeys } from '@app/testing';
import type { LighthouseState } from '../apps/upstream-sim/src/lighthouse-sim';
import { uploadStatusSchema } from '../apps/upload-status/src/config';
import { Poller } from '../apps/upload-status/src/polling/poller';
import { UploadStatusService } from '../apps/upload-status/src/upload-status.module';
import { UploadsRepository } from '../apps/upload-status/src/uploads/uploads.repository';
import { gatewayClient } from '../libs/testing/src/gateway-client';
import { startGateway, startService, startSim } from './harness';

const KEY = 'uploads-test-key-0123456789';
const PREFIX = 'us.';
let nextId = 700_000_000_000;
const newRequestId = () => String(nextId++);

describe('upload-status through the gateway', () => {
  let sim: FastifyInstance;
  let lh: LighthouseState;
  let services: NestFastifyApplication[] = [];
  let gateway: NestFastifyApplication;
  let ds: DataSource;

  const post = (body: object) =>
    gateway.inject({
      method: 'POST',
      url: '/api/v1/document-uploads',
      headers: { 'x-api-key': KEY },
      payload: body,
    });
  const get = (url: string) =>
    gateway.inject({ method: 'GET', url, headers: { 'x-api-key': KEY } });
  const record = async (over: Record<string, unknown> = {}): Promise<UploadView> => {
    const res = await post({
      form526SubmissionId: 'sub-1',
      lighthouseRequestId: newRequestId(),
      documentType: 'form_0781',
      ...over,
    });
    expect(res.statusCode).toBe(201);
    return res.json<UploadView>();
  };
  /** Runs one poll cycle on an instance and waits until every batch it queued was polled. */
  const pollOnce = async (instance = 0) => {
    const r = await services[instance].get(Poller).cycle();
    await eventually(async () => {
      const [{ n }] = await ds.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM upload_status.document_uploads WHERE poll_claim_token IS NOT NULL`,
      );
      expect(n).toBe(0);
    }, 20000);
    return r;
  };
  const view = async (id: string) =>
    (await get(`/api/v1/document-uploads/${id}`)).json<UploadView>();
  /** Both instances' metrics: either may have polled a batch. */
  const metrics = async () => {
    const texts = await Promise.all(
      services.map(async (s) => (await fetch(`${await s.getUrl()}/metrics`)).text()),
    );
    return texts.join('\n');
  };
  const sumOf = (text: string, series: RegExp) =>
    [...text.matchAll(new RegExp(series.source + ' (\\d+(?:\\.\\d+)?)', 'g'))].reduce(
      (n, m) => n + Number(m[1]),
      0,
    );

  beforeAll(async () => {
    const sm = await startSim();
    sim = sm.app;
    lh = sm.lighthouse;
    const simUrl = sm.url;
    const config = testServiceConfig(
      {
        MESSAGING_PREFIX: PREFIX,
        LIGHTHOUSE_URL: `${simUrl}/lighthouse`,
        LIGHTHOUSE_PRIVATE_KEY: lighthouseClientKeys().privateKeyPem,
        LIGHTHOUSE_TIMEOUT_MS: '400',
        LIGHTHOUSE_BACKOFF_MS: '50',
        LIGHTHOUSE_MAX_ATTEMPTS: '3',
        // The shared pace has its own test; here it must not slow the polls down.
        LIGHTHOUSE_RATE_PER_MINUTE: '1000000',
        LIGHTHOUSE_BURST: '1000',
        POLLER_ENABLED: 'false',
        POLL_INTERVAL_SECONDS: '0',
        POLL_BATCH_SIZE: '50',
        UNKNOWN_MAX_AGE_SECONDS: '1',
        STUCK_MAX_AGE_SECONDS: '3',
        OUTBOX_POLL_MS: '100',
      },
      uploadStatusSchema,
    );
    services = await startService(UploadStatusService, config, 2);
    ds = serviceDataSource(UploadStatusService, config);
    await ds.initialize();
    gateway = await startGateway({ MESSAGING_PREFIX: PREFIX, DEV_API_KEY: KEY });
  });

  beforeEach(() => {
    lh.config = {
      ...lh.config,
      stepMs: 300,
      stepEvery: 'time',
      rateLimitPerMinute: 100000,
      fault: { mode: 'none' },
      unknown: [],
      outcomes: {},
      extraIds: [],
    };
  });

  afterAll(async () => {
    await gateway?.close();
    for (const s of services) await s.close();
    await ds?.destroy();
    await sim?.close();
  });

  it('records an upload once per request id, and names bad fields', async () => {
    const body = {
      form526SubmissionId: 'sub-intake',
      lighthouseRequestId: newRequestId(),
      documentType: 'bdd_instructions',
      uploadedAt: '2026-11-01T10:00:00Z',
    };
    const first = await post(body);
    expect(first.statusCode).toBe(201);
    const again = await post(body);
    expect(again.statusCode).toBe(200);
    expect(again.json<UploadView>().id).toBe(first.json<UploadView>().id);
    const [{ n }] = await ds.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM upload_status.document_uploads WHERE lighthouse_request_id = $1`,
      [body.lighthouseRequestId],
    );
    expect(n).toBe(1);

    const clash = await post({ ...body, form526SubmissionId: 'another-submission' });
    expect(clash.statusCode).toBe(409);

    const bad = await post({
      form526SubmissionId: 'x',
      lighthouseRequestId: '-5',
      documentType: 'selfie',
      extra: true,
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.headers['content-type']).toContain('application/problem+json');
    expect(
      bad
        .json<{ errors: Array<{ field: string }> }>()
        .errors.map((e) => e.field)
        .sort(),
    ).toEqual(['documentType', 'extra', 'lighthouseRequestId']);
  });

  it('records an upload published on the broker', async () => {
    const bus = new EventBus({
      url: testEnv().rabbitUrl,
      consumer: 'test-publisher',
      prefix: PREFIX,
      prefetch: 1,
      maxAttempts: 1,
      retryDelaysMs: [100],
      shutdownGraceMs: 1000,
      logger: pino({ level: 'silent' }),
    });
    const requestId = newRequestId();
    try {
      await bus.publish({
        id: `evt-${requestId}`,
        name: 'claims.document.uploaded.v1',
        occurredAt: new Date().toISOString(),
        payload: {
          form526SubmissionId: 'sub-evt',
          lighthouseRequestId: requestId,
          documentType: 'veteran_upload',
          formAttachmentId: 'att-1',
        },
      });
    } finally {
      await bus.close();
    }
    const page = await eventually(async () => {
      const p = (await get('/api/v1/document-uploads?form526SubmissionId=sub-evt')).json<{
        data: UploadView[];
      }>();
      expect(p.data).toHaveLength(1);
      return p;
    });
    expect(page.data[0]).toMatchObject({
      lighthouseRequestId: requestId,
      documentType: 'veteran_upload',
      formAttachmentId: 'att-1',
      status: 'pending',
    });
  });

  it('follows an upload through each downstream step to completed, with history, metrics and an event', async () => {
    const u = await record({ documentType: 'form_0781a' });
    const other = await record({ documentType: 'bdd_instructions' });
    lh.config.outcomes[other.lighthouseRequestId] = { failAt: 'BENEFITS_GATEWAY_SERVICE' };
    // One step per poll: each step is seen, however slowly a loaded machine polls.
    lh.config.stepEvery = 'poll';
    for (let i = 0; i < 20; i++) {
      await pollOnce();
      const v = await view(u.id);
      if (v.status === 'completed') break;
      await sleep(200);
    }
    const done = await view(u.id);
    expect(done.status).toBe('completed');
    const steps = done.history!.map((h) => `${h.from}>${h.to}${h.step ? `@${h.step}` : ''}`);
    expect(steps[0]).toMatch(/^pending>in_progress@CLAIMS_EVIDENCE$/);
    expect(steps[steps.length - 1]).toMatch(/^in_progress>completed$/);
    expect(steps).toContain('in_progress>in_progress@BENEFITS_GATEWAY_SERVICE');
    // Lighthouse's own start and end of processing are kept (its time.startTime/endTime).
    expect(done.lighthouseStartedAt).not.toBeNull();
    expect(done.lighthouseEndedAt).not.toBeNull();
    expect(Date.parse(done.lighthouseEndedAt!)).toBeGreaterThanOrEqual(
      Date.parse(done.lighthouseStartedAt!),
    );

    const failed = await view(other.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toEqual({
      step: 'BENEFITS_GATEWAY_SERVICE',
      detail: 'BENEFITS_GATEWAY_SERVICE rejected the document',
    });

    await eventually(async () => {
      const events = await ds.query<Array<{ event_name: string; payload: { uploadId: string } }>>(
        `SELECT event_name, payload FROM upload_status.outbox WHERE payload->>'uploadId' IN ($1, $2) AND published_at IS NOT NULL`,
        [u.id, other.id],
      );
      expect(events.map((e) => `${e.event_name}:${e.payload.uploadId}`).sort()).toEqual(
        [
          `upload-status.upload.completed.v1:${u.id}`,
          `upload-status.upload.failed.v1:${other.id}`,
        ].sort(),
      );
    });
    // Each document counts under its own type, though they were polled in one batch.
    const text = await metrics();
    const series = (type: string, to: string) =>
      new RegExp(
        `platform_upload_status_transitions_total\\{document_type="${type}",from="in_progress",to="${to}",app="upload-status"\\}`,
      );
    expect(sumOf(text, series('form_0781a', 'completed'))).toBe(1);
    expect(sumOf(text, series('bdd_instructions', 'failed'))).toBe(1);
    expect(sumOf(text, series('form_0781a', 'failed'))).toBe(0);
    expect(
      sumOf(
        text,
        /platform_upload_status_time_to_completion_seconds_count\{app="upload-status",document_type="form_0781a"\}/,
      ),
    ).toBe(1);
  });

  it('counts an upload in progress at Lighthouse past IN_PROGRESS_MAX_AGE_SECONDS as stuck', async () => {
    const u = await record({ documentType: 'veteran_upload' });
    lh.config.stepMs = 600_000; // it starts its first step and stays there
    lh.firstSeen.set(u.lighthouseRequestId, Date.now() - 700_000);
    await pollOnce();
    expect((await view(u.id)).status).toBe('in_progress');
    const repo = services[0].get(UploadsRepository);
    const count = async (stuckSeconds: number) =>
      (await repo.gaugeSnapshot(stuckSeconds))
        .filter((r) => r.document_type === 'veteran_upload' && r.status === 'in_progress')
        .reduce((n, r) => n + r.stuck, 0);
    expect(await count(600)).toBeGreaterThanOrEqual(1);
    expect(await count(10 * 86400)).toBe(0);
  });

  it('fails an id Lighthouse does not know after the configured age, and an upload stuck pending', async () => {
    const unknown = await record();
    const stuck = await record();
    lh.config.unknown = [unknown.lighthouseRequestId];
    lh.config.outcomes[stuck.lighthouseRequestId] = { stuck: true };
    await pollOnce();
    const [row] = await ds.query<Array<{ not_found_since: Date | null; status: string }>>(
      `SELECT not_found_since, status FROM upload_status.document_uploads WHERE id = $1`,
      [unknown.id],
    );
    expect(row.status).toBe('pending');
    expect(row.not_found_since).not.toBeNull();
    await sleep(3100);
    await pollOnce();
    expect((await view(unknown.id)).error?.detail).toContain('does not know request id');
    const s = await view(stuck.id);
    expect(s.status).toBe('failed');
    expect(s.error?.detail).toContain('no downstream step started');
  });

  it('never polls an upload twice when two pollers run at once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 120; i++)
      ids.push((await record({ form526SubmissionId: 'sub-race' })).lighthouseRequestId);
    lh.asked.clear();
    // A replica mid-claim: its transaction holds 60 of the due rows locked.
    const other = ds.createQueryRunner();
    await other.connect();
    await other.startTransaction();
    const held = (await other.query(
      `SELECT id FROM upload_status.document_uploads WHERE form526_submission_id = 'sub-race'
        ORDER BY id LIMIT 60 FOR UPDATE SKIP LOCKED`,
    )) as Array<{ id: string }>;
    expect(held).toHaveLength(60);
    // Two pollers at once: they share the rows nobody holds, and skip the held ones instead of
    // waiting for them or claiming them twice.
    const [a, b] = await Promise.all([
      services[0].get(Poller).cycle(),
      services[1].get(Poller).cycle(),
    ]);
    expect(a.uploads + b.uploads).toBeGreaterThanOrEqual(60);
    const heldIds = new Set(held.map((h) => h.id));
    const rows = await ds.query<Array<{ id: string; lighthouse_request_id: string }>>(
      `SELECT id, lighthouse_request_id::text FROM upload_status.document_uploads WHERE form526_submission_id = 'sub-race'`,
    );
    await eventually(async () => {
      const [{ n }] = await ds.query<Array<{ n: number }>>(
        `SELECT count(*)::int AS n FROM upload_status.document_uploads WHERE poll_claim_token IS NOT NULL`,
      );
      expect(n).toBe(0);
    }, 20000);
    await other.commitTransaction();
    await other.release();
    const asked = (r: { id: string; lighthouse_request_id: string }) =>
      lh.asked.get(r.lighthouse_request_id) ?? 0;
    expect(rows.filter((r) => !heldIds.has(r.id)).map(asked)).toEqual(Array(60).fill(1));
    expect(rows.filter((r) => heldIds.has(r.id)).map(asked)).toEqual(Array(60).fill(0));
    expect(ids).toHaveLength(120);
  });

  it('retries 5xx, timeouts and 429 (after Retry-After) without losing the claim', async () => {
    const before = await metrics();
    const count = (text: string, code: string) =>
      sumOf(
        text,
        new RegExp(
          `platform_upload_status_upstream_errors_total\\{code="${code}",app="upload-status"\\}`,
        ),
      );
    for (const fault of [
      { mode: 'error' as const, status: 503, times: 2 },
      { mode: 'slow' as const, delayMs: 1000, times: 1 },
      { mode: 'rate-limit' as const, times: 1 },
    ]) {
      const u = await record();
      lh.config.fault = { ...fault };
      await pollOnce();
      const v = await view(u.id);
      expect(v.lastPolledAt).not.toBeNull();
    }
    const after = await metrics();
    expect(count(after, '503') - count(before, '503')).toBe(2);
    expect(count(after, 'timeout') - count(before, 'timeout')).toBe(1);
    expect(count(after, '429') - count(before, '429')).toBe(1);
  });

  it('fails only the batch on a malformed answer, and ignores ids nobody asked for', async () => {
    const u = await record();
    lh.config.fault = { mode: 'malformed', times: 1 };
    await pollOnce();
    const v = await view(u.id);
    expect(v.status).toBe('pending');
    expect(v.lastPolledAt).not.toBeNull();

    const w = await record();
    lh.config.extraIds = ['123456789'];
    await pollOnce();
    await sleep(400);
    await pollOnce();
    expect((await view(w.id)).status).toBe('in_progress');
  });

  it('lists with filters and cursor pages, and tells whether a submission can proceed', async () => {
    for (const t of [
      'bdd_instructions',
      'veteran_upload',
      'veteran_upload',
      'form_0781',
      'form_0781a',
    ]) {
      await record({
        form526SubmissionId: 'sub-read',
        documentType: t,
        formAttachmentId: t === 'veteran_upload' ? `att-${Math.random()}` : undefined,
      });
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { data: UploadView[]; nextCursor: string | null } = (
        await get(
          `/api/v1/document-uploads?form526SubmissionId=sub-read&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        )
      ).json();
      seen.push(...page.data.map((d) => d.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(new Set(seen).size).toBe(5);
    const filtered = (
      await get('/api/v1/document-uploads?form526SubmissionId=sub-read&documentType=veteran_upload')
    ).json<{ data: UploadView[] }>();
    expect(filtered.data).toHaveLength(2);
    expect((await get('/api/v1/document-uploads?cursor=garbage')).statusCode).toBe(400);
    expect((await get('/api/v1/document-uploads?status=lost')).statusCode).toBe(400);

    const status = (
      await get(
        '/api/v1/form526-submissions/sub-read/document-status?formAttachmentIds=att-missing',
      )
    ).json<{
      overall: string;
      canProceed: boolean;
      reasons: string[];
      byDocumentType: Record<string, { total: number }>;
    }>();
    expect(status.overall).toBe('in_progress');
    expect(status.canProceed).toBe(false);
    expect(status.reasons).toEqual([
      'the BDD instructions upload has not completed',
      'form attachments without an upload: att-missing',
    ]);
    expect(status.byDocumentType.veteran_upload.total).toBe(2);
    expect(
      (await get('/api/v1/document-uploads/00000000-0000-0000-0000-000000000000')).statusCode,
    ).toBe(404);
  });

  it('works through the client generated from openapi.json', async () => {
    const api = gatewayClient(gateway, { 'X-Api-Key': KEY });
    const lighthouseRequestId = newRequestId();
    const created = await api.POST('/api/v1/document-uploads', {
      body: { form526SubmissionId: 'sub-typed', lighthouseRequestId, documentType: 'form_0781a' },
    });
    expect(created.response.status).toBe(201);
    const upload = created.data!;
    expect(upload).toMatchObject({ lighthouseRequestId, status: 'pending' });
    const one = await api.GET('/api/v1/document-uploads/{id}', {
      params: { path: { id: upload.id } },
    });
    expect(one.data?.id).toBe(upload.id);
    const page = await api.GET('/api/v1/document-uploads', {
      params: { query: { form526SubmissionId: 'sub-typed', limit: 10 } },
    });
    expect(page.data?.data.map((u) => u.id)).toEqual([upload.id]);
    expect(page.data?.nextCursor).toBeNull();
    const status = await api.GET('/api/v1/form526-submissions/{id}/document-status', {
      params: { path: { id: 'sub-typed' } },
    });
    expect(status.data?.overall).toBe('in_progress');
    // An error answers the contract's problem+json.
    const bad = await api.GET('/api/v1/document-uploads/{id}', {
      params: { path: { id: 'not-a-uuid' } },
    });
    expect(bad.response.status).toBe(400);
    expect(bad.response.headers.get('content-type')).toContain('application/problem+json');
    expect((bad.error as { type?: string }).type).toMatch(/^urn:problem-type:/);
  });
});
