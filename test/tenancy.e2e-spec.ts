import { randomUUID } from 'node:crypto';
import { PDFDocument } from 'pdf-lib';
import type { DataSource } from 'typeorm';
import { createServiceDataSource } from '@app/database';
import { testEnv } from '@app/testing';
import { hashApiKey } from '../apps/gateway/src/auth/api-keys';
import { startPlatform } from './harness';

const A = 'tenant-a-key-0123456789abcdef';
const A2 = 'tenant-a-second-key-0123456789';
const B = 'tenant-b-key-0123456789abcdef';
const OPERATOR = 'operator-key-0123456789abcdef';
const ALL = [
  'uploads:read',
  'uploads:write',
  'workflows:read',
  'workflows:write',
  'extraction:read',
  'extraction:write',
  'efolder',
];
const key = (id: string, k: string, tenant: string, scopes = ALL) => ({
  id,
  sha256: hashApiKey(k),
  scopes,
  tenant,
});
const USER = { 'css-id': 'ALICE', 'station-id': '101' };

async function formPdf(): Promise<string> {
  const doc = await PDFDocument.create();
  const page = doc.addPage([300, 300]);
  doc.getForm().createTextField('name').addToPage(page, { x: 20, y: 200, width: 150, height: 20 });
  return Buffer.from(await doc.save()).toString('base64');
}

/** Each service keeps one tenant's resources from every other tenant's keys (404, not 403). */
describe('tenants through the gateway', () => {
  let platform: Awaited<ReturnType<typeof startPlatform>>;
  let gatewayDb: DataSource;
  const call = async (
    k: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: string,
    payload?: object,
    headers: Record<string, string> = {},
  ) => {
    const r = await platform.gateway.inject({
      method,
      url,
      headers: { 'x-api-key': k, ...headers },
      ...(payload ? { payload } : {}),
    });
    return { status: r.statusCode, body: r.body ? r.json<Record<string, unknown>>() : {} };
  };

  beforeAll(async () => {
    platform = await startPlatform('tn.', {
      gateway: {
        API_KEYS: JSON.stringify([
          key('a-system', A, 'tenant-a'),
          key('a-other-system', A2, 'tenant-a'),
          key('b-system', B, 'tenant-b'),
          key('operator', OPERATOR, 'ops', [...ALL, 'platform:admin']),
        ]),
      },
    });
    gatewayDb = createServiceDataSource({
      url: testEnv().databaseUrl,
      schema: 'gateway',
      applicationName: 'tenancy-test',
    });
    await gatewayDb.initialize();
  });

  afterAll(async () => {
    await gatewayDb?.destroy();
    await platform?.close();
  });

  const audited = async (path: string) => {
    const rows = await gatewayDb.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM gateway.cross_tenant_reads WHERE key_id = 'operator' AND path = $1`,
      [path],
    );
    return rows[0].n;
  };

  it('upload-status: uploads are their tenant’s; a request id another tenant holds is a bare 409', async () => {
    const requestId = String(800_000_000_000 + Math.floor(Math.random() * 1e6));
    const made = await call(A, 'POST', '/api/v1/document-uploads', {
      form526SubmissionId: 'sub-tenancy',
      lighthouseRequestId: requestId,
      documentType: 'form_0781',
    });
    expect(made.status).toBe(201);
    const id = made.body.id as string;
    expect((await call(A, 'GET', `/api/v1/document-uploads/${id}`)).status).toBe(200);
    expect((await call(B, 'GET', `/api/v1/document-uploads/${id}`)).status).toBe(404);
    const listed = await call(B, 'GET', '/api/v1/document-uploads?form526SubmissionId=sub-tenancy');
    expect(listed.body.data).toEqual([]);
    const summary = await call(B, 'GET', '/api/v1/form526-submissions/sub-tenancy/document-status');
    expect(summary.body.overall).toBe('no_uploads');
    const taken = await call(B, 'POST', '/api/v1/document-uploads', {
      form526SubmissionId: 'sub-tenancy',
      lighthouseRequestId: requestId,
      documentType: 'form_0781',
    });
    expect(taken.status).toBe(409);
    expect(JSON.stringify(taken.body)).not.toContain(id);
    // Another key of the same tenant sees it; an operator reads across tenants, audited.
    expect((await call(A2, 'GET', `/api/v1/document-uploads/${id}`)).status).toBe(200);
    expect((await call(OPERATOR, 'GET', `/api/v1/document-uploads/${id}`)).status).toBe(200);
    expect(await audited(`/api/v1/document-uploads/${id}`)).toBe(1);
    // An operator's writes stay in its own tenant.
    const opWrite = await call(OPERATOR, 'POST', '/api/v1/document-uploads', {
      form526SubmissionId: 'sub-tenancy',
      lighthouseRequestId: requestId,
      documentType: 'form_0781',
    });
    expect(opWrite.status).toBe(409);
  });

  it('pdf-workflow: workflows, their audit, documents, stats and changes are the tenant’s', async () => {
    const made = await call(A, 'POST', '/api/v1/workflows', {
      pdfBase64: await formPdf(),
      recipients: [{ type: 'PATIENT', name: 'Ben', email: 'ben@example.org', fields: ['name'] }],
    });
    expect(made.status).toBe(201);
    const id = (made.body.workflow as { id: string }).id;
    for (const [method, url] of [
      ['GET', `/api/v1/workflows/${id}`],
      ['GET', `/api/v1/workflows/${id}/audit`],
      ['GET', `/api/v1/workflows/${id}/document`],
      ['GET', `/api/v1/workflows/${id}/attachments/${randomUUID()}`],
      ['POST', `/api/v1/workflows/${id}/extend`],
      ['POST', `/api/v1/workflows/${id}/resend`],
      ['POST', `/api/v1/workflows/${id}/cancel`],
    ] as const) {
      const r = await call(B, method, url, url.endsWith('extend') ? { hours: 1 } : undefined);
      expect([method, url, r.status]).toEqual([method, url, 404]);
    }
    const list = await call(B, 'GET', '/api/v1/workflows');
    expect((list.body.data as Array<{ id: string }>).map((w) => w.id)).not.toContain(id);
    const statsB = await call(B, 'GET', '/api/v1/workflows/stats');
    expect(statsB.body.byStatus).toEqual({});
    expect((await call(A, 'GET', `/api/v1/workflows/${id}`)).body.status).toBe('ACTIVE');
    expect((await call(OPERATOR, 'GET', `/api/v1/workflows/${id}`)).status).toBe(200);
    expect(await audited(`/api/v1/workflows/${id}`)).toBe(1);
    // A document key of another tenant's upload namespace is not one of "your uploads".
    const foreign = await call(B, 'POST', '/api/v1/workflows', {
      documentKey: `workflows/uploads/tenant-a/a-system/${randomUUID()}.pdf`,
      recipients: [{ type: 'PATIENT', name: 'Ben', email: 'ben@example.org' }],
    });
    expect(foreign.status).toBe(400);
  });

  it('extraction: jobs, templates, files, runs and accounts are the tenant’s', async () => {
    const job = await call(A, 'POST', '/api/v1/extraction-jobs', {
      name: 'Invoices',
      fields: [{ name: 'total', dataType: 'currency' }],
    });
    expect(job.status).toBe(201);
    const id = job.body.id as string;
    const template = await call(A, 'POST', '/api/v1/templates', {
      name: 'Basics',
      fields: [{ name: 'total', dataType: 'currency' }],
    });
    expect(template.status).toBe(201);
    for (const [method, url, body] of [
      ['GET', `/api/v1/extraction-jobs/${id}`, undefined],
      ['GET', `/api/v1/extraction-jobs/${id}/files`, undefined],
      ['GET', `/api/v1/extraction-jobs/${id}/runs`, undefined],
      ['POST', `/api/v1/extraction-jobs/${id}/runs`, undefined],
      [
        'PUT',
        `/api/v1/extraction-jobs/${id}/fields`,
        { fields: [{ name: 'x', dataType: 'text' }] },
      ],
    ] as const) {
      const r = await call(B, method, url, body);
      expect([method, url, r.status]).toEqual([method, url, 404]);
    }
    const fromTemplate = await call(B, 'POST', '/api/v1/extraction-jobs', {
      name: 'x',
      templateId: template.body.id,
    });
    expect(fromTemplate.status).toBe(404);
    const jobsB = await call(B, 'GET', '/api/v1/extraction-jobs');
    expect((jobsB.body.items as Array<{ id: string }>).map((j) => j.id)).not.toContain(id);
    const templatesB = await platform.gateway.inject({
      method: 'GET',
      url: '/api/v1/templates',
      headers: { 'x-api-key': B },
    });
    expect(templatesB.json<Array<{ id: string }>>().map((t) => t.id)).not.toContain(
      template.body.id,
    );
    // Every key of tenant-a shares its jobs (keys rotate; what the tenant made stays its own).
    expect((await call(A2, 'GET', `/api/v1/extraction-jobs/${id}`)).status).toBe(200);
    expect((await call(OPERATOR, 'GET', `/api/v1/extraction-jobs/${id}`)).status).toBe(200);
    expect(await audited(`/api/v1/extraction-jobs/${id}`)).toBe(1);
  });

  it("manifest-cache: a user's manifests and history are their tenant's", async () => {
    const started = await call(A, 'POST', '/api/v2/manifests', undefined, {
      ...USER,
      'file-number': '100000077',
    });
    expect(started.status).toBe(200);
    const id = (started.body.data as { id: string }).id;
    expect((await call(A, 'GET', `/api/v2/manifests/${id}`, undefined, USER)).status).toBe(200);
    // The same CSS id and station under another tenant is another user.
    expect((await call(B, 'GET', `/api/v2/manifests/${id}`, undefined, USER)).status).toBe(404);
    // History lists the manifests whose zip the user asked for.
    expect(
      (await call(A, 'POST', `/api/v2/manifests/${id}/files_downloads`, undefined, USER)).status,
    ).toBe(200);
    const historyB = await call(B, 'GET', '/api/v2/manifests/history', undefined, USER);
    expect((historyB.body.data as Array<{ id: string }>).map((m) => m.id)).not.toContain(id);
    const historyA = await call(A, 'GET', '/api/v2/manifests/history', undefined, USER);
    expect((historyA.body.data as Array<{ id: string }>).map((m) => m.id)).toContain(id);
  });
});
