import { hashApiKey } from '../apps/gateway/src/auth/api-keys';
import { startPlatform } from './harness';

const KEY = 'caseflow-efolder-key-0123456789';

/**
 * Caseflow's eFolder client, played as it is written (department-of-veterans-affairs/caseflow,
 * app/services/external_api/efolder_service.rb): POST /api/v2/manifests with its token and
 * user headers, GET the manifest every second until no source is pending, read the records,
 * and fetch each document by its version id with the braces stripped (the content URL its
 * Document model builds).
 */
describe("Caseflow's eFolder client against the gateway", () => {
  let platform: Awaited<ReturnType<typeof startPlatform>>;
  const user = { css_id: 'CASEFLOW_USER', station_id: '317' };

  beforeAll(async () => {
    platform = await startPlatform('cf.', {
      gateway: {
        API_KEYS: JSON.stringify([
          { id: 'caseflow', sha256: hashApiKey(KEY), scopes: ['efolder'], tenant: 'caseflow' },
        ]),
      },
    });
  });
  afterAll(() => platform?.close());

  /** send_efolder_request: the token, CSS-ID and STATION-ID on every request. */
  const send = (
    endpoint: string,
    headers: Record<string, string>,
    method: 'GET' | 'POST' = 'GET',
  ) =>
    platform.gateway.inject({
      method,
      url: endpoint,
      headers: {
        ...headers,
        AUTHORIZATION: `Token token=${KEY}`,
        'CSS-ID': user.css_id,
        'STATION-ID': user.station_id,
      },
    });

  /** generate_efolder_request, with check_for_error's reading of each answer. */
  async function generateEfolderRequest(vbmsId: string, retryAttempts = 300) {
    const headers = { 'FILE-NUMBER': vbmsId };
    let response = await send('/api/v2/manifests', headers, 'POST');
    for (let i = 0; i < retryAttempts; i++) {
      expect(response.statusCode).toBe(200);
      const body = response.json<{
        data: { id: string; attributes: Record<string, unknown> };
      }>();
      const attrs = body.data.attributes as {
        sources: Array<{ source: string; status: string; fetched_at: string | null }>;
        records?: Array<Record<string, string | null>>;
      };
      expect(attrs.sources.length).toBeGreaterThan(0); // "manifest sources are blank" otherwise
      if (attrs.sources.filter((s) => s.status === 'pending').length === 0) {
        return {
          manifestVbmsFetchedAt: attrs.sources.find((s) => s.source === 'VBMS')?.fetched_at,
          manifestVvaFetchedAt: attrs.sources.find((s) => s.source === 'VVA')?.fetched_at,
          documents: (attrs.records ?? []).map((r) => ({
            efolderId: r.id,
            type: r.type_id,
            receivedAt: r.received_at,
            vbmsDocumentId: r.external_document_id,
            versionId: r.version_id,
          })),
          polls: i,
        };
      }
      await new Promise((r) => setTimeout(r, 1000)); // sleep 1
      response = await send(`/api/v2/manifests/${body.data.id}`, headers);
    }
    throw new Error(`Failed to fetch manifest after ${retryAttempts} seconds for ${vbmsId}`);
  }

  it('gets the manifest as Caseflow polls for it, then every document by its content URL', async () => {
    const r = await generateEfolderRequest('100000021');
    expect(r.manifestVbmsFetchedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(r.manifestVvaFetchedAt).toMatch(/Z$/);
    expect(r.documents.length).toBeGreaterThan(0);
    for (const d of r.documents) {
      expect(d.versionId).toMatch(/^\{[0-9A-F-]{36}\}$/);
      // Document#content_url: /api/v2/records/<version id without its braces>.
      const res = await send(`/api/v2/records/${d.versionId!.replace(/[{}]/g, '')}`, {});
      expect([d.vbmsDocumentId, res.statusCode]).toEqual([d.vbmsDocumentId, 200]);
      expect(res.headers['content-disposition']).toMatch(/^attachment/);
    }
  });

  it('counts documents as quick_document_count_for_appeal and document_counts do', async () => {
    // quick_document_count_for_appeal: one attempt, the records' size.
    const quick = await generateEfolderRequest('100000021', 1);
    const count = await send('/api/v2/document_counts', { 'FILE-NUMBER': '100000021' });
    expect(count.statusCode).toBe(200);
    expect(count.json<{ documents: number }>().documents).toBe(quick.documents.length);
  });

  it('reads the errors check_for_error expects: 400 and 403 as { status }', async () => {
    const bad = await send('/api/v2/manifests', { 'FILE-NUMBER': 'x' }, 'POST');
    expect(bad.statusCode).toBe(400);
    expect(typeof bad.json<{ status: string }>().status).toBe('string');
    platform.sim.state.restricted.add('100000022');
    const forbidden = await send('/api/v2/manifests', { 'FILE-NUMBER': '100000022' }, 'POST');
    expect(forbidden.statusCode).toBe(403);
    expect(typeof forbidden.json<{ status: string }>().status).toBe('string');
  });

  it("serves each app's RED and messaging series on its metrics port, with no key", async () => {
    for (const app of platform.services) {
      const res = await app.inject({ method: 'GET', url: '/metrics' });
      expect(res.statusCode).toBe(200);
      const text = res.body;
      const name = /platform_build_info\{[^}]*app="([a-z-]+)"/.exec(text)?.[1];
      expect(name).toBeTruthy();
      // The app label is `app`: Prometheus' own `service` label is left to it.
      expect(text).not.toMatch(/\{[^}]*\bservice="/);
      for (const series of [
        'platform_rpc_requests_total',
        '# TYPE platform_rpc_request_duration_seconds histogram',
        'platform_outbox_pending',
        'platform_outbox_oldest_pending_age_seconds',
        'process_cpu_seconds_total',
      ])
        expect(text).toContain(series);
      if (name === 'manifest-cache') {
        expect(text).toMatch(/platform_events_dead_letter_depth\{[^}]*\} 0/);
        expect(text).toMatch(/platform_outbox_published_total\{[^}]*event="manifest-cache\./);
        expect(text).toMatch(/platform_events_handled_total\{[^}]*outcome="ok"/);
      }
    }
    const gw = await platform.gateway.inject({
      method: 'GET',
      url: '/metrics',
      headers: { 'x-api-key': KEY },
    });
    // The public route wants metrics:read, which this key lacks; the internal port has none.
    expect(gw.statusCode).toBe(403);
  });
});
