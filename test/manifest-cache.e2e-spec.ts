import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHash } from 'node:crypto';
import yauzl from 'yauzl';
import type { ManifestAttributes } from '@app/contracts';
import { serviceDataSource } from '@app/service-kit';
import { eventually, sleep, testServiceConfig } from '@app/testing';
import { manifestCacheSchema } from '../apps/manifest-cache/src/config';
import { ManifestCacheService } from '../apps/manifest-cache/src/manifest-cache.module';
import type { SimState } from '../apps/upstream-sim/src/sim';
import { startManifestCache } from './harness';

const KEY = 'efolder-test-key-0123456789';
const ALICE = { 'css-id': 'ALICE', 'station-id': '101' };
const BOB = { 'css-id': 'BOB', 'station-id': '283' };
type Manifest = { id: string; attributes: ManifestAttributes };

function unzip(buf: Buffer): Promise<Array<{ name: string; sha256: string; size: number }>> {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buf, { lazyEntries: true }, (err, zip) => {
      if (err || !zip) return reject(err ?? new Error('no zip'));
      const out: Array<{ name: string; sha256: string; size: number }> = [];
      zip.on('entry', (e: yauzl.Entry) => {
        zip.openReadStream(e, (err2, s) => {
          if (err2 || !s) return reject(err2 ?? new Error('no stream'));
          const h = createHash('sha256');
          let size = 0;
          s.on('data', (c: Buffer) => {
            h.update(c);
            size += c.length;
          });
          s.on('end', () => {
            out.push({ name: e.fileName, sha256: h.digest('hex'), size });
            zip.readEntry();
          });
        });
      });
      zip.on('end', () => resolve(out));
      zip.readEntry();
    });
  });
}

describe('manifest-cache through the gateway (eFolder v2)', () => {
  let stack: Awaited<ReturnType<typeof startManifestCache>>;
  let state: SimState;
  let gateway: NestFastifyApplication;

  const req = (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}) =>
    gateway.inject({ method, url, headers: { 'x-api-key': KEY, ...headers } });
  const start = async (fileNumber: string, user = ALICE) => {
    const res = await req('POST', '/api/v2/manifests', { ...user, 'file-number': fileNumber });
    expect(res.statusCode).toBe(200);
    return res.json<{ data: Manifest }>().data;
  };
  const settled = (id: string, user = ALICE) =>
    eventually(async () => {
      const m = (await req('GET', `/api/v2/manifests/${id}`, user)).json<{ data: Manifest }>().data;
      expect(m.attributes.sources.some((s) => s.status === 'pending')).toBe(false);
      return m;
    }, 20000);
  /** Starts the files download and waits for it to finish. */
  const downloaded = async (id: string) => {
    expect((await req('POST', `/api/v2/manifests/${id}/files_downloads`, ALICE)).statusCode).toBe(
      200,
    );
    return eventually(async () => {
      const f = (await req('GET', `/api/v2/manifests/${id}/files_downloads`, ALICE)).json<{
        data: Manifest;
      }>().data;
      expect(f.attributes.fetched_files_status).toBe('finished');
      return f;
    }, 20000);
  };
  const calls = (key: string) => state.calls.get(key) ?? 0;
  const sql = async <T>(text: string, params: unknown[] = []): Promise<T[]> => {
    const ds = serviceDataSource(ManifestCacheService, testServiceConfig({}, manifestCacheSchema));
    await ds.initialize();
    try {
      return await ds.query<T[]>(text, params);
    } finally {
      await ds.destroy();
    }
  };

  beforeAll(async () => {
    // Two instances share the RPC queue and the work queue, as two replicas would.
    stack = await startManifestCache(
      'mc.',
      KEY,
      {
        MANIFEST_EXPIRY_SECONDS: '3',
        FAILED_SOURCE_RETRY_SECONDS: '600',
        FETCH_CLAIM_SECONDS: '5',
        RESTRICTED_DOCUMENT_TYPES: '999',
      },
      2,
    );
    state = stack.sim.state;
    gateway = stack.gateway;
  });

  afterAll(() => stack?.close());

  it('fetches both sources once, answering pending at once, and shares the result with the next user', async () => {
    const first = await start('100000001');
    expect(first.attributes.sources.map((s) => s.source)).toEqual(['VBMS', 'VVA']);
    expect(first.attributes.file_number).toBe('100000001');
    const m = await settled(first.id);
    expect(m.attributes.sources.map((s) => s.status)).toEqual(['success', 'success']);
    expect(m.attributes.veteran_first_name).toBeTruthy();
    expect(m.attributes.veteran_last_name).toBeTruthy();
    const listed = [
      ...state.documents('vbms', '100000001'),
      ...state.documents('vva', '100000001'),
    ];
    const visible = listed.filter((d) => d.type_id !== '999');
    expect(m.attributes.records).toHaveLength(visible.length);
    expect(m.attributes.records.every((r) => r.type_id !== '999')).toBe(true);
    expect(m.attributes.sources.reduce((n, s) => n + s.number_of_documents, 0)).toBe(
      visible.length,
    );
    const rec = m.attributes.records[0];
    expect(Object.keys(rec).sort()).toEqual(
      [
        'created_at',
        'updated_at',
        'external_document_id',
        'id',
        'mime_type',
        'received_at',
        'series_id',
        'source',
        'status',
        'type_description',
        'type_id',
        'upload_date',
        'version_id',
      ].sort(),
    );
    // eFolder's attributes and its time format (Rails: ISO 8601, milliseconds, UTC).
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    expect(m.attributes.created_at).toMatch(iso);
    expect(m.attributes.sources[0].fetched_at).toMatch(iso);
    expect(rec.received_at).toMatch(iso);
    expect(rec.created_at).toMatch(iso);
    expect(m.attributes).toMatchObject({
      fetched_files_at: null,
      zip_expiration_date: null,
      seconds_left: 2 * visible.length,
    });
    expect(typeof m.attributes.time_to_complete).toBe('string');
    expect(calls('vbms:list:100000001')).toBe(1);
    expect(calls('vva:list:100000001')).toBe(1);
    // Each fetch announced through the outbox and relayed.
    await eventually(async () => {
      const rows = await sql<{ n: number }>(
        `SELECT count(*)::int AS n FROM manifest_cache.outbox WHERE event_name = 'manifest-cache.manifest.fetched.v1'
            AND payload->>'fileNumber' = '100000001' AND published_at IS NOT NULL`,
      );
      expect(rows[0].n).toBe(2);
    });

    // Another user within the window: served from the cache, no upstream call.
    const again = await start('100000001', BOB);
    expect(again.id).toBe(first.id);
    expect(again.attributes.sources.map((s) => s.status)).toEqual(['success', 'success']);
    expect(calls('vbms:list:100000001')).toBe(1);

    // After the window: fetched again.
    await sleep(3200);
    const later = await start('100000001');
    await settled(later.id);
    expect(calls('vbms:list:100000001')).toBe(2);
    expect(calls('vva:list:100000001')).toBe(2);

    // Forced refresh, within the window.
    const forced = await req('POST', `/api/v2/manifests/${first.id}`, ALICE);
    expect(forced.statusCode).toBe(200);
    await settled(first.id);
    expect(calls('vbms:list:100000001')).toBe(3);
  });

  it('causes exactly one upstream call per source for 100 concurrent requests across two instances', async () => {
    state.faults.vbms = { mode: 'slow', delayMs: 300 };
    state.faults.vva = { mode: 'slow', delayMs: 300 };
    try {
      const answers = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          req('POST', '/api/v2/manifests', {
            'css-id': `USER${i}`,
            'station-id': '101',
            'file-number': '100000002',
          }),
        ),
      );
      expect(answers.every((a) => a.statusCode === 200)).toBe(true);
      const ids = new Set(answers.map((a) => a.json<{ data: Manifest }>().data.id));
      expect(ids.size).toBe(1);
      // Every answer lists both sources; none says "done" before the fetch finished.
      expect(
        answers.every((a) => a.json<{ data: Manifest }>().data.attributes.sources.length === 2),
      ).toBe(true);
      await settled([...ids][0], { 'css-id': 'USER0', 'station-id': '101' });
      expect(calls('vbms:list:100000002')).toBe(1);
      expect(calls('vva:list:100000002')).toBe(1);
    } finally {
      state.faults.vbms = { mode: 'none' };
      state.faults.vva = { mode: 'none' };
    }
  });

  it('keeps the other source and the previous records when one source fails, without asking it again', async () => {
    const ok = await settled((await start('100000003')).id);
    const vvaBefore = ok.attributes.records.filter((r) => r.source === 'VVA').length;
    expect(vvaBefore).toBeGreaterThan(0);
    state.faults.vva = { mode: 'error', status: 503 };
    try {
      await req('POST', `/api/v2/manifests/${ok.id}`, ALICE);
      const m = await settled(ok.id);
      const byName = Object.fromEntries(m.attributes.sources.map((s) => [s.source, s.status]));
      expect(byName).toEqual({ VBMS: 'success', VVA: 'failed' });
      expect(m.attributes.records.filter((r) => r.source === 'VVA')).toHaveLength(vvaBefore);
      const failedCalls = calls('vva:list:100000003');
      // Polling and asking again do not hit the failed source again within its retry delay.
      for (let i = 0; i < 3; i++) await req('GET', `/api/v2/manifests/${ok.id}`, ALICE);
      await start('100000003');
      await sleep(300);
      expect(calls('vva:list:100000003')).toBe(failedCalls);

      // A new file while VVA is down: VBMS's records still show.
      const fresh = await settled((await start('100000004')).id);
      expect(Object.fromEntries(fresh.attributes.sources.map((s) => [s.source, s.status]))).toEqual(
        { VBMS: 'success', VVA: 'failed' },
      );
      expect(fresh.attributes.records.length).toBeGreaterThan(0);
      expect(fresh.attributes.records.every((r) => r.source === 'VBMS')).toBe(true);
    } finally {
      state.faults.vva = { mode: 'none' };
    }
  });

  it('collapses upstream duplicates and recovers a source whose worker died', async () => {
    state.veterans.set('100000005', { duplicates: true, vbmsDocuments: 4, vvaDocuments: 2 });
    const m = await settled((await start('100000005')).id);
    const ids = m.attributes.records.map((r) => r.external_document_id);
    expect(new Set(ids).size).toBe(ids.length);

    // A claim nobody will finish (its worker died): after it expires, the next caller re-claims.
    await sql(
      `UPDATE manifest_cache.manifest_sources SET status = 'pending', claim_token = gen_random_uuid(), claimed_until = now() - interval '1 second'
        WHERE manifest_id = $1 AND source = 'VVA'`,
      [m.id],
    );
    const stuck = (await req('GET', `/api/v2/manifests/${m.id}`, ALICE)).json<{ data: Manifest }>()
      .data;
    expect(stuck.attributes.sources.find((s) => s.source === 'VVA')?.status).toBe('pending');
    const before = calls('vva:list:100000005');
    await start('100000005');
    const done = await settled(m.id);
    expect(done.attributes.sources.find((s) => s.source === 'VVA')?.status).toBe('success');
    expect(calls('vva:list:100000005')).toBe(before + 1);
  });

  it('forbids a restricted veteran file and keeps users apart', async () => {
    state.restricted.add('100000006');
    const res = await req('POST', '/api/v2/manifests', { ...ALICE, 'file-number': '100000006' });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ status: 'sensitive record' });
    expect(calls('vbms:list:100000006')).toBe(0);

    const mine = await start('100000007');
    const other = await req('GET', `/api/v2/manifests/${mine.id}`, BOB);
    expect(other.statusCode).toBe(404);
    expect(other.json<{ errors: Array<{ title: string; detail: string }> }>().errors[0].title).toBe(
      'Not Found',
    );

    // History is eFolder's: the zips the user asked for in the last 72 hours.
    const historyOf = async (user: typeof ALICE) =>
      (await req('GET', '/api/v2/manifests/history', user)).json<{
        data: Array<{ id: string; attributes: Record<string, unknown> }>;
      }>().data;
    expect((await historyOf(ALICE)).map((h) => h.attributes.file_number)).not.toContain(
      '100000007',
    );
    expect(
      (await req('POST', `/api/v2/manifests/${mine.id}/files_downloads`, ALICE)).statusCode,
    ).toBe(200);
    const aliceHistory = await historyOf(ALICE);
    expect(aliceHistory.map((h) => h.attributes.file_number)).toContain('100000007');
    expect(Object.keys(aliceHistory[0].attributes).sort()).toEqual(
      [
        'fetched_files_status',
        'file_number',
        'number_failed_documents',
        'veteran_first_name',
        'veteran_last_name',
        'zip_expiration_date',
      ].sort(),
    );
    expect(aliceHistory[0].attributes.zip_expiration_date).toMatch(/^\d{2}\/\d{2}$/);
    const bobHistory = (await req('GET', '/api/v2/manifests/history', BOB)).json<{
      data: Array<{ attributes: { file_number: string } }>;
    }>().data;
    expect(bobHistory.map((h) => h.attributes.file_number)).not.toContain('100000007');
  });

  it('answers bad input in eFolder shapes and accepts its token header', async () => {
    const bad = await req('POST', '/api/v2/manifests', { ...ALICE, 'file-number': '12ab' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({
      status:
        'File number is invalid. Veteran IDs must be 8 or more characters and contain only numbers.',
    });
    const missing = await req('POST', '/api/v2/manifests', ALICE);
    expect(missing.json()).toEqual({ status: 'missing header: File Number' });
    // eFolder's order and words: the station first, then the CSS id.
    const noUser = await req('POST', '/api/v2/manifests', { 'file-number': '100000008' });
    expect(noUser.json()).toEqual({ status: 'missing header: Station ID' });
    const noCss = await req('POST', '/api/v2/manifests', {
      'file-number': '100000008',
      'station-id': '101',
    });
    expect(noCss.json()).toEqual({ status: 'missing header: CSS ID' });
    const unauth = await gateway.inject({
      method: 'GET',
      url: '/api/v2/manifests/history',
      headers: ALICE,
    });
    expect(unauth.statusCode).toBe(401);
    expect(unauth.json()).toEqual({ status: 'unauthorized' });
    const token = await gateway.inject({
      method: 'GET',
      url: '/api/v2/manifests/history',
      headers: { ...ALICE, authorization: `Token token=${KEY}` },
    });
    expect(token.statusCode).toBe(200);
    const count = await req('GET', '/api/v2/document_counts', {
      ...ALICE,
      'file-number': '100000001',
    });
    expect(count.statusCode).toBe(200);
    // eFolder's DocumentCounter: what a user would see, unique per source, summed.
    const visible = (['vbms', 'vva'] as const).reduce(
      (n, src) =>
        n +
        new Set(
          state
            .documents(src, '100000001')
            .filter((d) => d.type_id !== '999')
            .map((d) => d.document_id),
        ).size,
      0,
    );
    expect(count.json<{ documents: number }>().documents).toBe(visible);
  });

  it('downloads every document, streams each one and the zip, entry by entry', async () => {
    state.veterans.set('100000009', { vbmsDocuments: 5, vvaDocuments: 3 });
    const m = await settled((await start('100000009')).id);
    const done = await downloaded(m.id);
    const records = done.attributes.records;
    expect(done.attributes.number_successful_documents).toBe(records.length);
    expect(done.attributes.fetched_files_at).toMatch(/Z$/);
    expect(done.attributes.zip_expiration_date).toMatch(/^\d{2}\/\d{2}$/);
    expect(done.attributes).toMatchObject({
      seconds_left: 0,
      time_to_complete: 'less than 5 seconds',
    });
    expect(records.every((r) => r.status === 'success')).toBe(true);

    const expected: Array<{ sha256: string; size: number; source: string }> = [];
    for (const r of records) {
      const doc = await req('GET', `/api/v2/records/${r.id}`, ALICE);
      expect(doc.statusCode).toBe(200);
      // Downloaded with the zip, so served from the store: eFolder says S3 then.
      expect(doc.headers['x-document-source']).toBe('S3');
      expect(doc.headers['cache-control']).toBe('max-age=2592000, public');
      expect(doc.headers['content-disposition']).toMatch(/^attachment; filename=/);
      expect(doc.headers['content-type']).toContain(r.mime_type ?? '');
      expect(doc.rawPayload.subarray(0, 4).toString('latin1')).toMatch(/^(%PDF|II\*)/);
      expected.push({
        sha256: createHash('sha256').update(doc.rawPayload).digest('hex'),
        size: doc.rawPayload.length,
        source: r.source,
      });
    }
    expect(done.attributes.zipfile_size).toBe(expected.reduce((n, e) => n + e.size, 0));

    const zip = await req('GET', `/api/v2/manifests/${m.id}/zip`, ALICE);
    expect(zip.statusCode).toBe(200);
    expect(zip.headers['content-type']).toBe('application/zip');
    expect(zip.headers['content-disposition']).toMatch(
      /^attachment; filename="[^"]+, [^"]+ - 0009\.zip"/,
    );
    const entries = await unzip(zip.rawPayload);
    expect(entries).toHaveLength(records.length);
    entries.forEach((e, i) => {
      expect(e.name.length).toBeLessThanOrEqual(100);
      expect(e.name.startsWith(String(i + 1).padStart(4, '0'))).toBe(true);
      expect(e.name).toContain(records[i].external_document_id.replace(/[{}]/g, ''));
      expect(e.sha256).toBe(expected[i].sha256);
      expect(e.size).toBe(expected[i].size);
    });

    // Each view is an audit row of its own; the shared rows are untouched by views.
    const audit = await sql<{ action: string; n: number }>(
      `SELECT action, count(*)::int AS n FROM manifest_cache.user_manifests WHERE manifest_id = $1 AND css_id = 'ALICE' GROUP BY action ORDER BY action`,
      [m.id],
    );
    expect(audit).toEqual([
      { action: 'document_viewed', n: records.length },
      { action: 'files_download', n: 1 },
      { action: 'requested', n: 1 },
      { action: 'zip_downloaded', n: 1 },
    ]);

    // A user who never asked for the manifest gets none of it.
    expect((await req('GET', `/api/v2/manifests/${m.id}/zip`, BOB)).statusCode).toBe(404);
    const bobs = await req('GET', `/api/v2/records/${records[0].id}`, BOB);
    expect(bobs.statusCode).toBe(403);
    expect(bobs.json()).toEqual({ status: 'sensitive record' });
  });

  it('marks a document that fails to download as failed and downloads the rest', async () => {
    state.veterans.set('100000010', { vbmsDocuments: 3, vvaDocuments: 2 });
    const m = await settled((await start('100000010')).id);
    state.faults.vva = { mode: 'error', status: 500 };
    try {
      const done = await downloaded(m.id);
      expect(done.attributes.number_successful_documents).toBe(3);
      expect(done.attributes.number_failed_documents).toBe(2);
      expect(
        done.attributes.records
          .filter((r) => r.status === 'failed')
          .every((r) => r.source === 'VVA'),
      ).toBe(true);
      const entries = await unzip(
        (await req('GET', `/api/v2/manifests/${m.id}/zip`, ALICE)).rawPayload,
      );
      expect(entries).toHaveLength(3);
    } finally {
      state.faults.vva = { mode: 'none' };
    }
  });

  it('fetches a document from its source on first request, then serves it from storage', async () => {
    state.veterans.set('100000011', { vbmsDocuments: 2, vvaDocuments: 1 });
    const m = await settled((await start('100000011')).id);
    const rec = m.attributes.records.find((r) => r.source === 'VVA')!;
    const before = calls('vva:content');
    const first = await req('GET', `/api/v2/records/${rec.version_id}`, ALICE);
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-document-source']).toBe('VVA');
    const second = await req('GET', `/api/v2/records/${rec.id}`, ALICE);
    expect(second.rawPayload.equals(first.rawPayload)).toBe(true);
    expect(calls('vva:content')).toBe(before + 1);
    const after = (await req('GET', `/api/v2/manifests/${m.id}`, ALICE)).json<{ data: Manifest }>()
      .data;
    expect(after.attributes.zipfile_size).toBe(first.rawPayload.length);
    expect(after.attributes.records.find((r) => r.id === rec.id)?.status).toBe('success');
  });

  it("serves records by the version id as Caseflow sends it: braces stripped (document.rb's content_url)", async () => {
    state.veterans.set('100000013', { vbmsDocuments: 2, vvaDocuments: 3 });
    const m = await settled((await start('100000013')).id);
    // (Documents of the restricted type are left out, so count by source.)
    expect(new Set(m.attributes.records.map((r) => r.source))).toEqual(new Set(['VBMS', 'VVA']));
    for (const r of m.attributes.records) {
      const version = r.version_id ?? '';
      expect(version).toMatch(/^\{[0-9A-F-]{36}\}$/);
      const stripped = version.replace(/[{}]/g, '');
      for (const ref of [stripped, stripped.toLowerCase(), encodeURIComponent(version)]) {
        const res = await req('GET', `/api/v2/records/${ref}`, ALICE);
        expect([r.source, ref, res.statusCode]).toEqual([r.source, ref, 200]);
      }
    }
  });

  it('answers a poll of an unchanged manifest by its ETag: 304, or the cached body, until it changes', async () => {
    state.veterans.set('100000014', { vbmsDocuments: 3, vvaDocuments: 2 });
    const m = await settled((await start('100000014')).id);
    const url = `/api/v2/manifests/${m.id}`;
    const first = await req('GET', url, ALICE);
    expect(first.statusCode).toBe(200);
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^"[^"]+"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');
    expect(first.json<{ data: Record<string, unknown> }>().data).not.toHaveProperty('etag');
    // Unchanged: 304 with If-None-Match; the same body (from the cache) without it.
    const again = await req('GET', url, { ...ALICE, 'if-none-match': etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe('');
    const cached = await req('GET', url, ALICE);
    expect(cached.body).toBe(first.body);
    const rebuilt = await req('GET', url, { ...ALICE, 'cache-control': 'no-cache' });
    expect(rebuilt.body).toBe(first.body);
    expect(rebuilt.headers.etag).toBe(etag);
    // A change anywhere in it moves the tag: here, the user's asking for the files.
    await req('POST', `/api/v2/manifests/${m.id}/files_downloads`, ALICE);
    const changed = await req('GET', url, { ...ALICE, 'if-none-match': etag });
    expect(changed.statusCode).toBe(200);
    expect(changed.headers.etag).not.toBe(etag);
    // Records finishing their download move it too (triggers on records keep the version).
    await downloaded(m.id);
    const done = await req('GET', url, {
      ...ALICE,
      'if-none-match': changed.headers.etag as string,
    });
    expect(done.statusCode).toBe(200);
    expect(
      done.json<{ data: Manifest }>().data.attributes.records.every((r) => r.status === 'success'),
    ).toBe(true);
    // Another user's poll is the same 404 as before.
    expect((await req('GET', url, { ...BOB, 'if-none-match': etag })).statusCode).toBe(404);
  });
});
