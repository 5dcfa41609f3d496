import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ManifestAttributes } from '@app/contracts';
import { eventually } from '@app/testing';
import { simVeteran } from '../apps/upstream-sim/src/efolder-sim';
import type { SimState } from '../apps/upstream-sim/src/sim';
import { startManifestCache } from './harness';

const KEY = 'efolder-veterans-key-0123456789';
const ALICE = { 'css-id': 'ALICE', 'station-id': '101' };
const VSO = { 'css-id': 'VSO1', 'station-id': '101' };
type Manifest = { id: string; attributes: ManifestAttributes };

/**
 * Who the veteran is comes from BGS, as in eFolder: names, every file number their
 * documents are filed under, sensitivity and power of attorney.
 */
describe('eFolder veterans as BGS knows them', () => {
  let stack: Awaited<ReturnType<typeof startManifestCache>>;
  let state: SimState;
  let gateway: NestFastifyApplication;

  const req = (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}) =>
    gateway.inject({ method, url, headers: { 'x-api-key': KEY, ...headers } });
  const settled = (id: string, user = ALICE) =>
    eventually(async () => {
      const m = (await req('GET', `/api/v2/manifests/${id}`, user)).json<{ data: Manifest }>().data;
      expect(m.attributes.sources.some((s) => s.status === 'pending')).toBe(false);
      return m;
    }, 20000);
  const calls = (key: string) => state.calls.get(key) ?? 0;

  beforeAll(async () => {
    stack = await startManifestCache('mcv.', KEY, { FAILED_SOURCE_RETRY_SECONDS: '0' });
    state = stack.sim.state;
    gateway = stack.gateway;
  });
  afterAll(() => stack?.close());

  it('fetches the documents under every file number and names the zip after the veteran', async () => {
    // File number = SSN, with a separate claim number that has documents of its own.
    state.veterans.set('400000001', { claimNumber: '40000001', vbmsDocuments: 2, vvaDocuments: 1 });
    state.veterans.set('40000001', { vbmsDocuments: 3, vvaDocuments: 2 });
    const res = await req('POST', '/api/v2/manifests', { ...ALICE, 'file-number': '400000001' });
    expect(res.statusCode).toBe(200);
    const m = await settled(res.json<{ data: Manifest }>().data.id);
    expect(m.attributes.sources.map((s) => [s.source, s.status, s.number_of_documents])).toEqual([
      ['VBMS', 'success', 5],
      ['VVA', 'success', 3],
    ]);
    expect(calls('vbms:list:400000001')).toBe(1);
    expect(calls('vbms:list:40000001')).toBe(1);
    expect(calls('vva:list:40000001')).toBe(1);
    const bgs = simVeteran(state, '400000001')!;
    expect(m.attributes).toMatchObject({
      file_number: '400000001',
      veteran_first_name: bgs.firstName,
      veteran_last_name: bgs.lastName,
    });

    expect((await req('POST', `/api/v2/manifests/${m.id}/files_downloads`, ALICE)).statusCode).toBe(
      200,
    );
    const done = await eventually(async () => {
      const f = (await req('GET', `/api/v2/manifests/${m.id}/files_downloads`, ALICE)).json<{
        data: Manifest;
      }>().data;
      expect(f.attributes.fetched_files_status).toBe('finished');
      return f;
    }, 20000);
    // VVA's content requests carry what its listing gave (source, format, office, SSN).
    expect(done.attributes.number_successful_documents).toBe(8);
    const zip = await req('GET', `/api/v2/manifests/${m.id}/zip`, ALICE);
    expect(zip.headers['content-disposition']).toContain(
      `${bgs.lastName.replace(/'/g, '_')}, ${bgs.firstName} - 0001.zip`,
    );
  });

  it('answers eFolder’s 400 for a veteran BGS does not know, without asking VBMS or VVA', async () => {
    state.veterans.set('400000002', { notInBgs: true });
    const res = await req('POST', '/api/v2/manifests', { ...ALICE, 'file-number': '400000002' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      status:
        'eFolder Express could not find an eFolder with the Veteran ID 400000002. Check to make sure you entered the ID correctly and try again.',
    });
    expect(calls('vbms:list:400000002') + calls('vva:list:400000002')).toBe(0);
  });

  it('lets a representative read only the veterans their organisation represents', async () => {
    state.vsoUsers.set('VSO1', '900000001');
    state.veterans.set('400000003', { poaParticipantId: '900000001', poaCode: '071' });
    state.veterans.set('400000004', { poaParticipantId: '900000002', poaCode: '072' });
    const mine = await req('POST', '/api/v2/manifests', { ...VSO, 'file-number': '400000003' });
    expect(mine.statusCode).toBe(200);
    const other = await req('POST', '/api/v2/manifests', { ...VSO, 'file-number': '400000004' });
    expect(other.statusCode).toBe(403);
    expect(other.json()).toEqual({
      status:
        'This efolder belongs to a Veteran you do not represent. Please contact your supervisor.',
    });
    state.restricted.add('400000005');
    const sensitive = await req('POST', '/api/v2/manifests', {
      ...ALICE,
      'file-number': '400000005',
    });
    expect(sensitive.statusCode).toBe(403);
    expect(sensitive.json()).toEqual({ status: 'sensitive record' });
  });

  it('marks VBMS failed when a later Claims Evidence page fails, keeping its records', async () => {
    state.veterans.set('400000006', { vbmsDocuments: 45, vvaDocuments: 1 });
    const res = await req('POST', '/api/v2/manifests', { ...ALICE, 'file-number': '400000006' });
    const first = await settled(res.json<{ data: Manifest }>().data.id);
    expect(first.attributes.sources[0]).toMatchObject({
      source: 'VBMS',
      status: 'success',
      number_of_documents: 45,
    });
    state.faults.vbms = { mode: 'error', status: 500, fromPage: 2 };
    try {
      expect((await req('POST', `/api/v2/manifests/${first.id}`, ALICE)).statusCode).toBe(200);
      const again = await eventually(async () => {
        const m = await settled(first.id);
        expect(m.attributes.sources[0].status).toBe('failed');
        return m;
      }, 20000);
      // eFolder would record this as a success with no documents (ADR 0014).
      expect(again.attributes.sources[0].number_of_documents).toBe(45);
    } finally {
      state.faults.vbms = { mode: 'none' };
    }
  });
});
