import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { testServiceConfig } from '@app/testing';
import { createUpstreamSim, type SimState } from '../../../upstream-sim/src/sim';
import { documentBytes } from '../../../upstream-sim/src/sim-data';
import { simVeteran } from '../../../upstream-sim/src/efolder-sim';
import { type ManifestCacheConfig, manifestCacheSchema } from '../config';
import { BgsClient } from './bgs.client';
import { parseSoap, SoapFault } from './soap';
import { UpstreamError, UpstreamTransport } from './transport';
import { UpstreamClient } from './upstream.client';
import { FileNumberUnknown, VbmsClient } from './vbms.client';
import { VvaClient } from './vva.client';

/** The adapters for VBMS, VVA and BGS against the simulators of their recorded shapes. */
describe('upstream adapters', () => {
  let sim: ReturnType<typeof createUpstreamSim>;
  let state: SimState;
  let url: string;
  const transports: UpstreamTransport[] = [];

  const clients = (over: Record<string, string> = {}) => {
    const config = testServiceConfig(
      {
        CLAIM_EVIDENCE_URL: `${url}/ce`,
        CLAIM_EVIDENCE_JWT_TOKEN: 'ce-token',
        VBMS_URL: `${url}/vbms`,
        VVA_URL: `${url}/vva`,
        VVA_USERNAME: 'vva-user',
        VVA_PASSWORD: 'vva-pass',
        BGS_URL: `${url}/bgs`,
        UPSTREAM_TIMEOUT_MS: '2000',
        ...over,
      },
      manifestCacheSchema,
    ) as ManifestCacheConfig;
    const transport = new UpstreamTransport(config);
    transports.push(transport);
    const vbms = new VbmsClient(transport, config);
    const vva = new VvaClient(transport, config);
    const bgs = new BgsClient(transport, config);
    return { vbms, vva, bgs, upstream: new UpstreamClient(vbms, vva, bgs), config };
  };
  const ALICE = { cssId: 'ALICE', stationId: '101' };

  beforeAll(async () => {
    sim = createUpstreamSim();
    state = sim.state;
    await sim.app.listen({ port: 0, host: '127.0.0.1' });
    url = `http://127.0.0.1:${(sim.app.server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    state.veterans.clear();
    state.calls.clear();
    state.restricted.clear();
    state.vsoUsers.clear();
    state.faults.vbms = { mode: 'none' };
    state.faults.vva = { mode: 'none' };
    state.faults.bgs = { mode: 'none' };
    state.vvaCredentials = { username: 'vva-user', password: 'vva-pass' };
    state.claimEvidenceToken = 'ce-token';
  });
  afterAll(async () => {
    await Promise.all(transports.map((t) => t.onModuleDestroy()));
    await sim.app.close();
  });

  describe('BGS', () => {
    it('finds the veteran as the user, with names and numbers from the corporate record', async () => {
      const { bgs } = clients();
      const v = simVeteran(state, '300000001')!;
      await expect(bgs.findVeteran('300000001', ALICE)).resolves.toEqual({
        kind: 'found',
        record: {
          fileNumber: '300000001',
          claimNumber: '300000001',
          ssn: v.ssn,
          firstName: v.firstName,
          lastName: v.lastName,
          participantId: v.participantId,
          deceased: false,
        },
      });
    });

    it('tells a sensitive file, a POA denial and an unknown veteran apart', async () => {
      const { bgs } = clients();
      state.restricted.add('300000002');
      state.veterans.set('300000003', { notInBgs: true });
      state.vsoUsers.set('VSO1', '900000001');
      await expect(bgs.findVeteran('300000002', ALICE)).resolves.toEqual({ kind: 'sensitive' });
      await expect(bgs.findVeteran('300000003', ALICE)).resolves.toEqual({ kind: 'not_found' });
      await expect(
        bgs.findVeteran('300000001', { cssId: 'VSO1', stationId: '101' }),
      ).resolves.toEqual({ kind: 'poa_denied' });
      // The system user reads what users may not.
      await expect(bgs.findVeteran('300000002', bgs.systemUser)).resolves.toMatchObject({
        kind: 'found',
      });
    });

    it('lets a representative in when their organisation holds the veteran’s POA', async () => {
      const { upstream } = clients();
      state.vsoUsers.set('VSO1', '900000001');
      state.veterans.set('300000004', { poaParticipantId: '900000001', poaCode: '071' });
      state.veterans.set('300000005', { poaParticipantId: '900000002', poaCode: '072' });
      const vso = { cssId: 'VSO1', stationId: '101' };
      await expect(upstream.authorize('300000004', vso)).resolves.toMatchObject({
        kind: 'allowed',
        record: { fileNumber: '300000004' },
      });
      await expect(upstream.authorize('300000005', vso)).resolves.toEqual({ kind: 'poa_denied' });
    });

    it('answers each user from a cache of their own', async () => {
      const { upstream } = clients();
      await upstream.authorize('300000006', ALICE);
      await upstream.authorize('300000006', ALICE);
      expect(state.calls.get('bgs:veteran:300000006')).toBe(1);
      state.restricted.add('300000006');
      await expect(
        upstream.authorize('300000006', { cssId: 'BOB', stationId: '101' }),
      ).resolves.toEqual({
        kind: 'sensitive',
      });
    });

    it('finds the file numbers a veteran’s documents are filed under', async () => {
      const { upstream } = clients();
      // File number = SSN, and a separate claim number: eFolder's VeteranFinder looks again by it.
      state.veterans.set('300000007', { claimNumber: '30000007' });
      await expect(upstream.veteranFileNumbers('300000007')).resolves.toEqual([
        '300000007',
        '30000007',
      ]);
      await expect(upstream.veteranFileNumbers('300000008')).resolves.toEqual(['300000008']);
    });

    it('sends the audit header BGS requires, and surfaces faults as errors', async () => {
      const { bgs } = clients();
      await expect(bgs.findVeteran('300000001', { cssId: 'ALICE', stationId: '' })).rejects.toThrow(
        /Logon ID ALICE Not Found/,
      );
      state.faults.bgs = { mode: 'error', status: 500 };
      const err = await bgs.findVeteran('300000001', ALICE).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SoapFault);
      expect((err as SoapFault).faultMessage).toBe('The Tuxedo service is down');
    });
  });

  describe('VVA', () => {
    it('lists documents with their dates, format and what content requests need', async () => {
      const { vva } = clients();
      state.veterans.set('300000010', { vvaDocuments: 3 });
      const docs = await vva.listDocuments('300000010');
      const listed = state.documents('vva', '300000010');
      expect(docs.map((d) => d.externalDocumentId)).toEqual(listed.map((d) => d.document_id));
      expect(docs[0]).toMatchObject({
        receivedAt: listed[0].received_at.slice(0, 10),
        mimeType: listed[0].mime_type,
        jro: listed[0].jro,
        contentRef: { source: 'P8', jro: listed[0].jro, ssn: '300000010' },
      });
      const bytes = await streamBytes(
        await vva.content({ ...ref(docs[0]), fileNumber: '300000010' }),
      );
      expect(bytes.equals(await documentBytes(listed[0]))).toBe(true);
    });

    it('answers an empty list for "No records found" and refuses wrong credentials', async () => {
      state.veterans.set('300000011', { vvaDocuments: 0 });
      await expect(clients().vva.listDocuments('300000011')).resolves.toEqual([]);
      await expect(
        clients({ VVA_PASSWORD: 'wrong' }).vva.listDocuments('300000011'),
      ).rejects.toThrow(/could not be authenticated/);
    });
  });

  describe('VBMS through Claims Evidence', () => {
    it('reads every page of 20, braces and upper-cases the ids, names the types', async () => {
      const { vbms } = clients();
      state.veterans.set('300000020', { vbmsDocuments: 45 });
      const docs = await vbms.listDocuments('300000020');
      const listed = state.documents('vbms', '300000020');
      expect(docs).toHaveLength(45);
      expect(docs.map((d) => d.versionId)).toEqual(listed.map((d) => d.document_id));
      expect(docs.every((d) => /^\{[0-9A-F-]{36}\}$/.test(d.versionId!))).toBe(true);
      expect(docs[0].typeDescription).toBe(listed[0].type_description);
      const bytes = await streamBytes(
        await vbms.content({ ...ref(docs[1]), fileNumber: '300000020' }),
      );
      expect(bytes.equals(await documentBytes(listed[1]))).toBe(true);
    });

    it('fails the listing when a later page fails, and tells an unknown file number', async () => {
      const { vbms } = clients();
      state.veterans.set('300000021', { vbmsDocuments: 45 });
      state.faults.vbms = { mode: 'error', status: 500, fromPage: 2 };
      await expect(vbms.listDocuments('300000021')).rejects.toThrow('VBMS: answered 500 (page 2)');
      state.faults.vbms = { mode: 'none' };
      state.veterans.set('300000022', { vbmsUnknown: true });
      await expect(vbms.listDocuments('300000022')).rejects.toBeInstanceOf(FileNumberUnknown);
      await expect(
        clients({ CLAIM_EVIDENCE_JWT_TOKEN: 'other' }).vbms.listDocuments('300000020'),
      ).rejects.toThrow('VBMS: answered 401');
    });

    it('lists under every file number, skipping one VBMS does not know', async () => {
      const { upstream } = clients();
      state.veterans.set('300000023', { claimNumber: '30000023', vbmsDocuments: 2 });
      state.veterans.set('30000023', { vbmsDocuments: 3 });
      const both = await upstream.listVeteranDocuments('VBMS', '300000023');
      expect(both).toHaveLength(5);
      state.veterans.set('30000023', { vbmsDocuments: 3, vbmsUnknown: true });
      await expect(upstream.listVeteranDocuments('VBMS', '300000023')).resolves.toHaveLength(2);
    });
  });

  describe('VBMS through the eFolder read service (SOAP)', () => {
    it('lists document versions and fetches inline content', async () => {
      const { vbms } = clients({ VBMS_API: 'soap' });
      state.veterans.set('300000030', { vbmsDocuments: 4 });
      const docs = await vbms.listDocuments('300000030');
      const listed = state.documents('vbms', '300000030');
      expect(docs.map((d) => [d.externalDocumentId, d.seriesId, d.typeId])).toEqual(
        listed.map((d) => [d.document_id, d.series_id, d.type_id]),
      );
      const bytes = await streamBytes(
        await vbms.content({ ...ref(docs[0]), fileNumber: '300000030' }),
      );
      expect(bytes.equals(await documentBytes(listed[0]))).toBe(true);
      state.veterans.set('300000031', { vbmsUnknown: true });
      await expect(vbms.listDocuments('300000031')).rejects.toBeInstanceOf(FileNumberUnknown);
    });
  });

  describe('SOAP answers', () => {
    it('refuses what is not a well-formed envelope, or carries a DTD', () => {
      expect(() => parseSoap('BGS', '<a><b></a>')).toThrow('BGS: answer is not well-formed XML');
      expect(() => parseSoap('BGS', '<x/>')).toThrow('BGS: answer is not a SOAP envelope');
      expect(() => parseSoap('BGS', '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')).toThrow(
        'BGS: answer carries a DTD',
      );
    });

    it('reads the fault messages ruby-bgs reads', () => {
      const env = (body: string) =>
        `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>${body}</soap:Body></soap:Envelope>`;
      const fault = (e: unknown) => (e as SoapFault).faultMessage;
      const run = (xml: string) => {
        try {
          parseSoap('BGS', xml);
        } catch (e) {
          return fault(e);
        }
        return null;
      };
      expect(
        run(
          env(
            '<soap:Fault><faultcode>soap:Server</faultcode><faultstring>Fault occurred while processing.</faultstring><Detail><ShareException><Message>Sensitive File - Access Violation</Message></ShareException></Detail></soap:Fault>',
          ),
        ),
      ).toBe('Sensitive File - Access Violation');
      expect(
        run(
          env(
            '<ns0:Fault xmlns:ns0="http://schemas.xmlsoap.org/soap/envelope/"><faultcode>ns0:Server</faultcode><faultstring>Unable to get user authroization due to a framework fault</faultstring><detail><ns0:cssRepoGenericFault xmlns:ns0="http://types.ws.css.vba.va.gov/services/v1"><message>Error getting CSS User from Corporate</message></ns0:cssRepoGenericFault></detail></ns0:Fault>',
          ),
        ),
      ).toBe('Error getting CSS User from Corporate');
    });
  });

  describe('mutual TLS', () => {
    let dir: string;
    let server: ReturnType<typeof createServer>;
    let port: number;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'upstream-tls-'));
      const ssl = (...args: string[]) =>
        execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
      ssl(
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        'ca.key',
        '-out',
        'ca.crt',
        '-days',
        '2',
        '-subj',
        '/CN=test-ca',
      );
      for (const name of ['server', 'client']) {
        ssl(
          'req',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.csr`,
          '-subj',
          `/CN=${name === 'server' ? '127.0.0.1' : 'manifest-cache'}`,
        );
        writeFileSync(
          join(dir, `${name}.ext`),
          name === 'server' ? 'subjectAltName=IP:127.0.0.1' : 'extendedKeyUsage=clientAuth',
        );
        ssl(
          'x509',
          '-req',
          '-in',
          `${name}.csr`,
          '-CA',
          'ca.crt',
          '-CAkey',
          'ca.key',
          '-CAcreateserial',
          '-out',
          `${name}.crt`,
          '-days',
          '2',
          '-extfile',
          `${name}.ext`,
        );
      }
      const file = (n: string) => readFileSync(join(dir, n));
      server = createServer(
        {
          key: file('server.key'),
          cert: file('server.crt'),
          ca: file('ca.crt'),
          requestCert: true,
          rejectUnauthorized: true,
        },
        (req, res) => {
          const cert = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
          res.writeHead(200, { 'content-type': 'text/xml' });
          res.end(
            `<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><GetDocumentListResponse xmlns="http://service.bfi.va.gov/"><message>No records found for ${String(cert.subject.CN)}</message></GetDocumentListResponse></soap:Body></soap:Envelope>`,
          );
        },
      );
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => {
      server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('presents the configured client certificate and trusts the configured CA', async () => {
      const tls = {
        VVA_URL: `https://127.0.0.1:${port}/vva`,
        VVA_TLS_CA_FILE: join(dir, 'ca.crt'),
      };
      const withCert = clients({
        ...tls,
        VVA_TLS_CERT_FILE: join(dir, 'client.crt'),
        VVA_TLS_KEY_FILE: join(dir, 'client.key'),
      });
      await expect(withCert.vva.listDocuments('300000040')).resolves.toEqual([]);
      await expect(clients(tls).vva.listDocuments('300000040')).rejects.toBeInstanceOf(
        UpstreamError,
      );
      await expect(
        clients({
          VVA_URL: tls.VVA_URL,
          VVA_TLS_CERT_FILE: join(dir, 'client.crt'),
          VVA_TLS_KEY_FILE: join(dir, 'client.key'),
        }).vva.listDocuments('300000040'),
      ).rejects.toThrow(/unreachable/);
    });
  });
});

function ref(d: {
  externalDocumentId: string;
  seriesId: string | null;
  jro: string | null;
  contentRef?: Record<string, string | null>;
}) {
  return {
    externalDocumentId: d.externalDocumentId,
    seriesId: d.seriesId,
    jro: d.jro,
    contentRef: d.contentRef ?? null,
  };
}

async function streamBytes(s: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of s) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
