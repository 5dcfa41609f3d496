import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { createHash } from 'node:crypto';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PDFDocument } from 'pdf-lib';
import type { DataSource } from 'typeorm';
import type { WorkflowView } from '@app/contracts';
import { serviceDataSource } from '@app/service-kit';
import { eventually, testServiceConfig } from '@app/testing';
import type { SimState } from '../apps/upstream-sim/src/sim';
import { pdfWorkflowSchema } from '../apps/pdf-workflow/src/config';
import { PdfWorkflowService } from '../apps/pdf-workflow/src/pdf-workflow.module';
import { DocumentRenderer } from '../apps/pdf-workflow/src/workflows/document-renderer';
import { WorkflowJobs } from '../apps/pdf-workflow/src/workflows/jobs';
import { startGateway, startService, startSim } from './harness';
import { drawnContent, inspectFinal } from './pdf-tools';

const KEY = 'workflow-test-key-0123456789';
const PREFIX = 'pw.';
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** A PDF with one field of each kind, made here with pdf-lib. */
async function formPdf(): Promise<Buffer> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([400, 400]);
  const form = doc.getForm();
  form.createTextField('patient_name').addToPage(page, { x: 20, y: 340, width: 200, height: 20 });
  const plan = form.createRadioGroup('plan');
  plan.addOptionToPage('basic', page, { x: 20, y: 300, width: 15, height: 15 });
  plan.addOptionToPage('premium', page, { x: 60, y: 300, width: 15, height: 15 });
  form.createCheckBox('consent').addToPage(page, { x: 20, y: 260, width: 15, height: 15 });
  const state = form.createDropdown('state');
  state.addOptions(['CA', 'NY', 'TX']);
  state.addToPage(page, { x: 20, y: 220, width: 100, height: 20 });
  return Buffer.from(await doc.save());
}

describe('pdf-workflow through the gateway', () => {
  let sim: FastifyInstance;
  let state: SimState;
  let services: NestFastifyApplication[];
  let gateway: NestFastifyApplication;
  let ds: DataSource;
  let storageRoot: string;
  let pdf: Buffer;

  type Method = 'GET' | 'POST' | 'PATCH';
  const send =
    (base: Record<string, string>) =>
    (method: Method, url: string, payload?: object, headers: Record<string, string> = {}) =>
      gateway.inject({
        method,
        url,
        headers: { ...base, ...headers },
        ...(payload ? { payload } : {}),
      });
  // Creators and operators use a key; recipients only their link.
  const api = send({ 'x-api-key': KEY });
  const link = send({ 'user-agent': 'test-browser/1.0' });
  const path = (url: string) => new URL(url).pathname;
  const recipients = [
    {
      type: 'PRESCRIBER',
      name: 'Dr. Ada',
      email: 'ada@example.org',
      fields: ['patient_name', 'plan'],
    },
    {
      type: 'PATIENT',
      name: 'Ben',
      email: 'ben@example.org',
      phone: '+1 555 0100',
      fields: ['consent'],
      accessCode: true,
    },
    { type: 'PHARMACY', name: 'Corner Pharmacy', phone: '+1 555 0199', fields: ['state'] },
  ];
  const create = async (over: object = {}) => {
    const res = await api('POST', '/api/v1/workflows', {
      pdfBase64: pdf.toString('base64'),
      recipients,
      ...over,
    });
    expect(res.statusCode).toBe(201);
    return res.json<{ workflow: WorkflowView; links: Array<{ url: string }> }>();
  };
  const jobs = () => services[0].get(WorkflowJobs);
  /** The finished document, asked for as a client would: again after each Retry-After. */
  const finalDocument = async (id: string) => {
    for (let i = 0; i < 300; i++) {
      const res = await api('GET', `/api/v1/workflows/${id}/document`);
      if (res.statusCode !== 409) return res;
      expect(res.headers['retry-after']).toBe('2');
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`workflow ${id} never finished`);
  };

  beforeAll(async () => {
    pdf = await formPdf();
    const sm = await startSim();
    sim = sm.app;
    state = sm.state;
    const simUrl = sm.url;
    storageRoot = await mkdtemp(join(tmpdir(), 'pw-storage-'));
    const config = testServiceConfig(
      {
        MESSAGING_PREFIX: PREFIX,
        STORAGE_ROOT: storageRoot,
        NOTIFY_URL: `${simUrl}/notify`,
        LINK_SECRET: 'a-test-link-secret-of-at-least-32-characters',
        PUBLIC_BASE_URL: 'https://docs.example.org',
        JOBS_ENABLED: 'false',
        ATTACHMENT_MAX_BYTES: '2000',
        REMINDER_MAX: '3',
        REMINDER_INTERVAL_HOURS: '24',
        RETENTION_DAYS: '30',
      },
      pdfWorkflowSchema,
    );
    services = await startService(PdfWorkflowService, config);
    ds = serviceDataSource(PdfWorkflowService, config);
    await ds.initialize();
    gateway = await startGateway({
      MESSAGING_PREFIX: PREFIX,
      DEV_API_KEY: KEY,
      STORAGE_ROOT: storageRoot,
      // Streamed attachments are cut off here, above the service's own 2,000 bytes.
      ATTACHMENT_MAX_BYTES: '5000',
    });
  });

  afterAll(async () => {
    await gateway?.close();
    for (const s of services ?? []) await s.close();
    await ds?.destroy();
    await sim?.close();
    await rm(storageRoot, { recursive: true, force: true });
  });

  it('refuses a file that is not a PDF and a field the PDF does not have', async () => {
    const notPdf = await api('POST', '/api/v1/workflows', {
      pdfBase64: Buffer.from('hello').toString('base64'),
      recipients,
    });
    expect(notPdf.statusCode).toBe(400);
    expect(notPdf.json<{ detail: string }>().detail).toContain('not a PDF');
    const badField = await api('POST', '/api/v1/workflows', {
      pdfBase64: pdf.toString('base64'),
      recipients: [{ ...recipients[0], fields: ['patient_name', 'signature'] }],
    });
    expect(badField.statusCode).toBe(400);
    expect(badField.json<{ detail: string }>().detail).toContain('"signature"');
  });

  it('creates the workflow even when the notification provider fails, recording the failure', async () => {
    state.faults.notify = { mode: 'error' };
    try {
      const { workflow } = await create();
      const [r] = await ds.query<
        Array<{ error_message: string | null; retry_count: number; email_sent_at: Date | null }>
      >(
        `SELECT error_message, retry_count, email_sent_at FROM pdf_workflow.recipients WHERE session_id = $1 AND order_index = 0`,
        [workflow.id],
      );
      expect(r.error_message).toContain('503');
      expect(r.retry_count).toBe(1);
      expect(r.email_sent_at).toBeNull();
      // The reminder job tries again once the provider is back.
      state.faults.notify = { mode: 'none' };
      await jobs().remind(new Date(Date.now() + 20 * 60_000));
      const [again] = await ds.query<Array<{ email_sent_at: Date | null }>>(
        `SELECT email_sent_at FROM pdf_workflow.recipients WHERE session_id = $1 AND order_index = 0`,
        [workflow.id],
      );
      expect(again.email_sent_at).not.toBeNull();
    } finally {
      state.faults.notify = { mode: 'none' };
    }
  });

  it('takes three recipients in order through their links and fills and flattens the PDF', async () => {
    const { workflow, links } = await create();
    expect(workflow.totalRecipients).toBe(3);
    expect(links.map((l) => path(l.url))).toHaveLength(3);
    const [l1, l2, l3] = links.map((l) => path(l.url));
    // The first recipient was told by email; only link hashes are stored.
    expect(
      state.notices.some((n) => n.to === 'ada@example.org' && n.body.includes(links[0].url)),
    ).toBe(true);
    const [{ n }] = await ds.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM pdf_workflow.recipients WHERE session_id = $1 AND length(link_hash) = 32`,
      [workflow.id],
    );
    expect(n).toBe(3);

    expect((await link('GET', l2)).statusCode).toBe(409);
    const opened = await link('GET', l1);
    expect(opened.statusCode).toBe(200);
    expect(opened.json<{ fields: Array<{ name: string }> }>().fields.map((f) => f.name)).toEqual([
      'patient_name',
      'plan',
    ]);
    expect(
      (await link('PATCH', `${l1}/form-data`, { formData: { plan: 'gold' } })).statusCode,
    ).toBe(400);
    expect(
      (await link('PATCH', `${l1}/form-data`, { formData: { consent: true } })).statusCode,
    ).toBe(400);
    expect((await link('POST', `${l1}/complete`)).statusCode).toBe(400);
    expect(
      (
        await link('PATCH', `${l1}/form-data`, {
          formData: { patient_name: 'John Doe', plan: 'premium' },
        })
      ).statusCode,
    ).toBe(200);

    // Attachments: type, size and virus scan.
    const attach = (fileName: string, contentType: string, data: Buffer) =>
      link('POST', `${l1}/attachments`, {
        fileName,
        contentType,
        dataBase64: data.toString('base64'),
      });
    expect((await attach('a.exe', 'application/x-msdownload', Buffer.from('MZ'))).statusCode).toBe(
      400,
    );
    expect((await attach('big.png', 'image/png', Buffer.alloc(3000))).statusCode).toBe(400);
    // What is not base64 is refused before anything is stored.
    const notBase64 = await link('POST', `${l1}/attachments`, {
      fileName: 'x.png',
      contentType: 'image/png',
      dataBase64: 'iVBORw0KGgo=!not base64',
    });
    expect(notBase64.statusCode).toBe(400);
    expect(JSON.stringify(notBase64.json())).toContain('dataBase64');
    expect((await attach('eicar.png', 'image/png', Buffer.from(EICAR))).statusCode).toBe(422);
    // The bytes must be what the type says; an empty file is refused.
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.from('tiny image'),
    ]);
    const exe = await attach('photo.png', 'image/png', Buffer.from('MZ\x90\x00 not an image'));
    expect(exe.statusCode).toBe(400);
    expect(exe.json<{ detail: string }>().detail).toBe("the attachment's bytes are not image/png");
    expect((await attach('empty.pdf', 'application/pdf', Buffer.alloc(0))).statusCode).toBe(400);
    const good = await attach('Résumé Ñúñez 王.png', 'image/png', png);
    expect(good.statusCode).toBe(201);
    expect(good.json()).toMatchObject({
      fileName: 'Résumé Ñúñez 王.png',
      scanStatus: 'clean',
      checksum: createHash('sha256').update(png).digest('hex'),
    });

    expect((await link('POST', `${l1}/complete`)).json()).toEqual({
      workflowStatus: 'ACTIVE',
      completedRecipients: 1,
    });
    expect((await link('GET', l1)).statusCode).toBe(410);

    // The patient's step needs the code sent by SMS, beside the emailed link.
    expect((await link('GET', l2)).statusCode).toBe(403);
    const sms = state.notices.filter((x) => x.to === '+1 555 0100').pop()!;
    const code = /(\d{6})/.exec(sms.body)![1];
    expect(
      (
        await link('GET', l2, undefined, {
          'x-access-code': '000000' === code ? '111111' : '000000',
        })
      ).statusCode,
    ).toBe(403);
    expect(
      (
        await link(
          'PATCH',
          `${l2}/form-data`,
          { formData: { consent: true } },
          { 'x-access-code': code },
        )
      ).statusCode,
    ).toBe(200);
    expect(
      (await link('POST', `${l2}/complete`, undefined, { 'x-access-code': code })).statusCode,
    ).toBe(200);

    expect((await link('PATCH', `${l3}/form-data`, { formData: { state: 'NY' } })).statusCode).toBe(
      200,
    );
    expect((await link('POST', `${l3}/complete`)).json()).toEqual({
      workflowStatus: 'FINALIZING',
      completedRecipients: 3,
    });
    // The sealed document follows moments later; until then a 409 says when to ask again.
    const doc = await finalDocument(workflow.id);
    expect(doc.statusCode).toBe(200);
    expect(doc.headers['content-type']).toBe('application/pdf');
    const filled = doc.rawPayload;
    expect(doc.headers['x-content-sha256']).toBe(createHash('sha256').update(filled).digest('hex'));
    // Nothing fillable is left, the file is sound, and the platform's seal verifies.
    const final = await inspectFinal(filled);
    expect(final.liveFields).toEqual([]);
    expect(final.qpdfOk).toBe(true);
    expect(final.signature).toContain('Signature Validation: Signature is Valid.');
    expect(final.text).toContain('John Doe');
    expect(final.text).toContain('NY');
    // The checkbox survived flattening: the page paints its check mark (pdf-lib's tick path).
    expect((await drawnContent(filled)).toUpperCase()).toContain('5.175 3.5625 L');

    const view = (await api('GET', `/api/v1/workflows/${workflow.id}`)).json<WorkflowView>();
    expect(view).toMatchObject({
      status: 'COMPLETED',
      completedRecipients: 3,
      originalSha256: createHash('sha256').update(pdf).digest('hex'),
    });
    expect(view.recipients!.map((r) => r.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    const attId = view.attachments!.find((a) => a.scanStatus === 'clean')!.id;
    const downloaded = await api('GET', `/api/v1/workflows/${workflow.id}/attachments/${attId}`);
    expect(downloaded.statusCode).toBe(200);
    expect(downloaded.rawPayload.equals(png)).toBe(true);
    // The name as the recipient gave it, with an ASCII fallback for old clients (RFC 6266).
    expect(downloaded.headers['content-disposition']).toBe(
      `attachment; filename="R_sum_ ___ez _.png"; filename*=UTF-8''${encodeURIComponent('Résumé Ñúñez 王.png')}`,
    );
    expect(
      (await api('GET', `/api/v1/workflows/${workflow.id}`))
        .json<WorkflowView>()
        .attachments!.find((a) => a.id === attId)!.downloadCount,
    ).toBe(1);

    const audit = (await api('GET', `/api/v1/workflows/${workflow.id}/audit`)).json<
      Array<{
        eventType: string;
        eventData: Record<string, string>;
        userAgent: string | null;
        ipAddress: string | null;
      }>
    >();
    const types = audit.map((a) => a.eventType);
    for (const t of [
      'created',
      'link_accessed',
      'saved',
      'attachment_added',
      'recipient_completed',
      'workflow_completed',
      'downloaded',
      'attachment_downloaded',
    ])
      expect(types).toContain(t);
    const done = audit.find((a) => a.eventType === 'workflow_completed')!;
    expect(done.eventData).toEqual({
      originalSha256: view.originalSha256,
      documentSha256: view.documentSha256,
      sealed: true,
    });
    expect(audit.find((a) => a.eventType === 'saved')!.userAgent).toBe('test-browser/1.0');
    expect(audit.find((a) => a.eventType === 'saved')!.ipAddress).not.toBeNull();
    await expect(
      ds.query(
        `UPDATE pdf_workflow.workflow_audit_logs SET event_type = 'x' WHERE session_id = $1`,
        [workflow.id],
      ),
    ).rejects.toThrow(/append-only/);
  });

  it('answers tampered, cancelled and expired links, and expires each workflow once', async () => {
    const { workflow, links } = await create();
    const l1 = path(links[0].url);
    const tampered = l1.slice(0, -1) + (l1.endsWith('A') ? 'B' : 'A');
    expect((await link('GET', tampered)).statusCode).toBe(404);
    expect((await link('GET', '/api/v1/r/short')).statusCode).toBe(404);
    expect((await api('POST', `/api/v1/workflows/${workflow.id}/cancel`)).statusCode).toBe(200);
    expect((await link('GET', l1)).statusCode).toBe(410);
    expect((await api('POST', `/api/v1/workflows/${workflow.id}/cancel`)).statusCode).toBe(409);

    const short = await create({ expiresInHours: 1 });
    const later = new Date(Date.now() + 2 * 3600_000);
    const first = await jobs().expire(later);
    expect(first).toBeGreaterThanOrEqual(1);
    expect(await jobs().expire(later)).toBe(0);
    expect((await link('GET', path(short.links[0].url))).statusCode).toBe(410);
    expect(
      (await api('GET', `/api/v1/workflows/${short.workflow.id}`)).json<WorkflowView>().status,
    ).toBe('EXPIRED');
  });

  it('reminds only the current recipient, capped, with missed reminders collapsed', async () => {
    const { workflow } = await create({
      expiresInHours: 500,
      recipients: [{ ...recipients[0], email: 'remind-me@example.org' }, ...recipients.slice(1)],
    });
    const count = () =>
      state.notices.filter(
        (x) => x.to === 'remind-me@example.org' && x.subject.startsWith('Reminder'),
      ).length;
    const before = count();
    const at = (h: number) => new Date(Date.now() + h * 3600_000);
    await jobs().remind(at(25));
    expect(count()).toBe(before + 1);
    await jobs().remind(at(26));
    expect(count()).toBe(before + 1);
    // Three days missed: one reminder, not three.
    await jobs().remind(at(120));
    expect(count()).toBe(before + 2);
    await jobs().remind(at(200));
    await jobs().remind(at(300));
    expect(count()).toBe(before + 3);
    const v = (await api('GET', `/api/v1/workflows/${workflow.id}`)).json<WorkflowView>();
    expect(v.recipients![0].reminderCount).toBe(3);
    expect(v.recipients![1].reminderCount).toBe(0);
  });

  it('takes an attachment streamed as multipart, its size limit the real one', async () => {
    const { workflow, links } = await create();
    const l1 = path(links[0].url);
    const upload = (fileName: string, type: string, data: Buffer, field = 'file') => {
      const boundary = '----pw-test-boundary';
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="${field}"; filename="${fileName}"\r\nContent-Type: ${type}\r\n\r\n`,
        ),
        data,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      return gateway.inject({
        method: 'POST',
        url: `${l1}/attachments/upload`,
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
        payload: body,
      });
    };
    const png = (size: number) =>
      Buffer.concat([
        Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
        Buffer.alloc(size - 8, 7),
      ]);
    // Exactly the service's limit (2,000 bytes) is taken, as sent: no base64 overhead.
    const ok = await upload('Zdjęcie 王.png', 'image/png', png(2000));
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({
      fileName: 'Zdjęcie 王.png',
      fileSize: 2000,
      scanStatus: 'clean',
      checksum: createHash('sha256').update(png(2000)).digest('hex'),
    });
    expect((await upload('big.png', 'image/png', png(2001))).statusCode).toBe(400);
    // Past the gateway's own bound the stream is cut off as it arrives.
    const huge = await upload('huge.png', 'image/png', png(6000));
    expect(huge.statusCode).toBe(413);
    expect(huge.json<{ detail: string }>().detail).toBe('attachments may be at most 5000 bytes');
    expect((await upload('x.png', 'image/png', png(100), 'other')).statusCode).toBe(400);
    const notMultipart = await link('POST', `${l1}/attachments/upload`, { file: 'x' });
    expect(notMultipart.statusCode).toBe(400);
    const view = (await api('GET', `/api/v1/workflows/${workflow.id}`)).json<WorkflowView>();
    expect(view.attachments!.map((a) => a.fileName)).toEqual(['Zdjęcie 王.png']);
  });

  it('fills the document after the step: a failed fill is tried again later, nothing is lost', async () => {
    const { workflow, links } = await create({
      recipients: [
        {
          type: 'PATIENT',
          name: 'Only One',
          email: 'only@example.org',
          fields: ['patient_name', 'plan', 'consent', 'state'],
        },
      ],
    });
    const l = path(links[0].url);
    const formData = {
      patient_name: 'Łukasz Wiśniewski',
      plan: 'basic',
      consent: true,
      state: 'CA',
    };
    expect((await link('PATCH', `${l}/form-data`, { formData })).statusCode).toBe(200);
    // The stored original goes missing for a while (a storage outage).
    const [{ original_key: key }] = await ds.query<Array<{ original_key: string }>>(
      `SELECT original_key FROM pdf_workflow.workflow_sessions WHERE id = $1`,
      [workflow.id],
    );
    const file = join(storageRoot, ...key.split('/'));
    await rename(file, `${file}.away`);
    expect((await link('POST', `${l}/complete`)).json()).toEqual({
      workflowStatus: 'FINALIZING',
      completedRecipients: 1,
    });
    const renderState = async () =>
      (
        await ds.query<
          Array<{
            status: string;
            render_error: string | null;
            render_attempts: number;
            later: boolean;
          }>
        >(
          `SELECT status, render_error, render_attempts, render_after > now() AS later
             FROM pdf_workflow.workflow_sessions WHERE id = $1`,
          [workflow.id],
        )
      )[0];
    await eventually(async () => expect((await renderState()).render_error).toBeTruthy());
    const failed = await renderState();
    expect(failed).toMatchObject({ status: 'FINALIZING', render_attempts: 1, later: true });
    const waiting = await api('GET', `/api/v1/workflows/${workflow.id}/document`);
    expect(waiting.statusCode).toBe(409);
    expect(waiting.headers['retry-after']).toBe('2');
    // Storage is back; the retry (brought forward here rather than waited for) completes it.
    await rename(`${file}.away`, file);
    await ds.query(`UPDATE pdf_workflow.workflow_sessions SET render_after = now() WHERE id = $1`, [
      workflow.id,
    ]);
    await services[0].get(DocumentRenderer).drain();
    const doc = await finalDocument(workflow.id);
    expect(doc.statusCode).toBe(200);
    expect((await inspectFinal(doc.rawPayload)).text).toContain('Łukasz Wiśniewski');
    expect(await renderState()).toMatchObject({ status: 'COMPLETED', render_error: null });
    const audit = (await api('GET', `/api/v1/workflows/${workflow.id}/audit`)).json<
      Array<{ eventType: string }>
    >();
    expect(audit.filter((a) => a.eventType === 'workflow_completed')).toHaveLength(1);
  });

  it('purges files and form data after the retention, keeping the audit', async () => {
    const { workflow, links } = await create();
    await link('PATCH', `${path(links[0].url)}/form-data`, {
      formData: { patient_name: 'Private Person' },
    });
    await api('POST', `/api/v1/workflows/${workflow.id}/cancel`);
    expect(await jobs().purge(new Date(Date.now() + 31 * 86400_000))).toBeGreaterThanOrEqual(1);
    const [row] = await ds.query<
      Array<{ original_key: string | null; purged_at: Date | null; data: string }>
    >(
      `SELECT s.original_key, s.purged_at, (SELECT string_agg(form_data::text, '') FROM pdf_workflow.recipients WHERE session_id = s.id) AS data
         FROM pdf_workflow.workflow_sessions s WHERE s.id = $1`,
      [workflow.id],
    );
    expect(row.original_key).toBeNull();
    expect(row.purged_at).not.toBeNull();
    expect(row.data).not.toContain('Private Person');
    const audit = (await api('GET', `/api/v1/workflows/${workflow.id}/audit`)).json<
      Array<{ eventType: string }>
    >();
    expect(audit.map((a) => a.eventType)).toEqual(
      expect.arrayContaining(['created', 'saved', 'cancelled', 'purged']),
    );
  });

  it('lists newest first with a cursor, and counts by status and recipient type', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: WorkflowView[]; nextCursor: string | null } = (
        await api('GET', `/api/v1/workflows?limit=2${cursor ? `&cursor=${cursor}` : ''}`)
      ).json();
      seen.push(...page.data.map((w) => w.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBeGreaterThanOrEqual(5);
    const stats = (await api('GET', '/api/v1/workflows/stats')).json<{
      byStatus: Record<string, number>;
      byRecipientType: Record<string, Record<string, number>>;
      completionSeconds: { p50: number | null };
    }>();
    expect(stats.byStatus.COMPLETED).toBeGreaterThanOrEqual(1);
    expect(stats.byStatus.CANCELLED).toBeGreaterThanOrEqual(2);
    expect(stats.byRecipientType.PRESCRIBER.COMPLETED).toBeGreaterThanOrEqual(1);
    expect(stats.completionSeconds.p50).not.toBeNull();
    expect((await gateway.inject({ method: 'GET', url: '/api/v1/workflows' })).statusCode).toBe(
      401,
    );
  });
});
