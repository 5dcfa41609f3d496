import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import formbody from '@fastify/formbody';
import { type GoogleState, registerGoogle } from './google-sim';
import { LighthouseState, registerLighthouse } from './lighthouse-sim';

/**
 * Simulators of the upstream systems manifest-cache reads: VBMS and VVA (document lists and
 * content) and BGS (may this user see this veteran's file). Deterministic per file number,
 * with failure injection (slow, 5xx, connection reset) and call counters for tests.
 */
export type SimSource = 'vbms' | 'vva' | 'bgs' | 'notify';
export type FaultMode = 'none' | 'error' | 'slow' | 'down';

export interface Fault {
  mode: FaultMode;
  delayMs?: number;
  status?: number;
}

export interface VeteranOverride {
  vbmsDocuments?: number;
  vvaDocuments?: number;
  /** Lists a document twice, as VBMS sometimes does. */
  duplicates?: boolean;
  restricted?: boolean;
  /** Size of every document in bytes (default: varied, 20 KB to 600 KB). */
  documentSize?: number;
}

const TYPES: Array<[string, string]> = [
  ['137', 'VA 21-526 Veterans Application for Compensation or Pension'],
  ['10', 'Correspondence'],
  ['34', 'Medical Treatment Record - Government Facility'],
  ['73', 'Rating Decision - Codesheet'],
  ['27', 'Notice of Disagreement'],
  ['179', 'Form 9 - Substantive Appeal to Board of Veterans Appeals'],
  ['999', 'Restricted Access Document'],
];
const FIRST = ['James', 'Maria', 'Robert', 'Linda', 'Michael', 'Patricia', 'David', 'Jennifer'];
const LAST = ['Smith', 'Garcia', 'Johnson', "O'Brien", 'Williams', 'Nguyen', 'Brown', 'Davis'];

function seed(...parts: string[]): number {
  return createHash('sha256').update(parts.join(':')).digest().readUInt32BE(0);
}

export interface SimDocument {
  document_id: string;
  series_id: string;
  version_id: string;
  type_id: string;
  type_description: string;
  mime_type: string;
  received_at: string;
  upload_date: string;
  size: number;
  jro?: string;
}

export class SimState {
  faults: Record<SimSource, Fault> = {
    vbms: { mode: 'none' },
    vva: { mode: 'none' },
    bgs: { mode: 'none' },
    notify: { mode: 'none' },
  };
  veterans = new Map<string, VeteranOverride>();
  calls = new Map<string, number>();
  restricted = new Set<string>();
  notices: Array<{
    channel: 'email' | 'sms';
    to: string;
    subject: string;
    body: string;
    at: number;
  }> = [];

  count(key: string): void {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  documents(source: 'vbms' | 'vva', fileNumber: string): SimDocument[] {
    const o = this.veterans.get(fileNumber) ?? {};
    const n =
      (source === 'vbms' ? o.vbmsDocuments : o.vvaDocuments) ?? 3 + (seed(source, fileNumber) % 12);
    const docs: SimDocument[] = [];
    for (let i = 0; i < n; i++) {
      const s = seed(source, fileNumber, String(i));
      const [typeId, typeDescription] = TYPES[s % TYPES.length];
      const received = new Date(Date.UTC(2015 + (s % 10), (s >>> 4) % 12, 1 + ((s >>> 8) % 28)));
      // Version ids are `{UPPER-CASE-UUID}` whatever the source: department-of-veterans-affairs/
      // caseflow-efolder app/services/json_api_response_adapter.rb upper-cases Claims
      // Evidence's bare UUIDs and wraps them in braces, as VBMS and VVA ids already are.
      const id = `{${createHash('md5')
        .update(`${source}:${fileNumber}:${i}`)
        .digest('hex')
        .toUpperCase()
        .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')}}`;
      docs.push({
        document_id: id,
        series_id: source === 'vbms' ? `{S-${id.slice(1, 9)}}` : id,
        version_id: id,
        type_id: typeId,
        type_description: typeDescription,
        mime_type: s % 5 === 0 ? 'image/tiff' : 'application/pdf',
        received_at: received.toISOString(),
        upload_date: new Date(received.getTime() + 86400000).toISOString(),
        size: o.documentSize ?? 20_000 + (s % 580_000),
        ...(source === 'vva' ? { jro: `JRO${s % 1000}` } : {}),
      });
    }
    if (o.duplicates && docs.length > 0) docs.push({ ...docs[0] });
    return docs;
  }

  find(source: 'vbms' | 'vva', documentId: string): SimDocument | undefined {
    // Content requests carry the file number in the query (as the real adapters' do).
    for (const fn of [...this.veterans.keys(), ...this.known]) {
      const d = this.documents(source, fn).find((x) => x.document_id === documentId);
      if (d) return d;
    }
    return undefined;
  }

  known = new Set<string>();
}

/** Deterministic bytes of a document, streamed in chunks so large files cost no memory. */
function content(doc: SimDocument): Readable {
  const block = Buffer.alloc(64 * 1024);
  const header = Buffer.from(doc.mime_type === 'application/pdf' ? '%PDF-1.4\n' : 'II*\0');
  createHash('sha256').update(doc.document_id).digest().copy(block, 0);
  for (let i = 32; i < block.length; i++) block[i] = (block[i - 32] * 31 + i) & 0xff;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= doc.size) return this.push(null);
      const first = sent === 0 ? header : Buffer.alloc(0);
      const n = Math.min(block.length, doc.size - sent);
      const chunk = Buffer.concat([first, block]).subarray(0, n);
      sent += n;
      this.push(chunk);
    },
  });
}

async function applyFault(f: Fault, reply: FastifyReply): Promise<boolean> {
  switch (f.mode) {
    case 'none':
      return false;
    case 'slow':
      await new Promise((r) => setTimeout(r, f.delayMs ?? 2000));
      return false;
    case 'error':
      await reply.status(f.status ?? 503).send({ error: 'simulated upstream failure' });
      return true;
    case 'down':
      reply.raw.socket?.destroy();
      return true;
  }
}

export function createUpstreamSim(state = new SimState()): {
  app: FastifyInstance;
  state: SimState;
  lighthouse: LighthouseState;
  google: GoogleState;
} {
  const app = Fastify({ logger: false });
  void app.register(formbody);
  const lighthouse = registerLighthouse(app);
  const google = registerGoogle(app);

  for (const source of ['vbms', 'vva'] as const) {
    app.get<{ Params: { fileNumber: string } }>(
      `/${source}/veterans/:fileNumber/documents`,
      async (req, reply) => {
        const fn = req.params.fileNumber;
        state.count(`${source}:list:${fn}`);
        if (await applyFault(state.faults[source], reply)) return reply;
        state.known.add(fn);
        const s = seed('vet', fn);
        return {
          veteran:
            source === 'vbms'
              ? {
                  first_name: FIRST[s % 8],
                  last_name: LAST[(s >>> 3) % 8],
                  last_four_ssn: fn.slice(-4),
                }
              : undefined,
          documents: state.documents(source, fn),
        };
      },
    );

    app.get<{ Params: { id: string }; Querystring: { file_number?: string } }>(
      `/${source}/documents/:id/content`,
      async (req, reply) => {
        state.count(`${source}:content`);
        if (await applyFault(state.faults[source], reply)) return reply;
        if (req.query.file_number) state.known.add(req.query.file_number);
        const doc = state.find(source, req.params.id);
        if (!doc) return reply.status(404).send({ error: 'no such document' });
        return reply.type(doc.mime_type).header('content-length', doc.size).send(content(doc));
      },
    );
  }

  app.get<{ Params: { fileNumber: string }; Querystring: { css_id?: string } }>(
    '/bgs/veterans/:fileNumber/access',
    async (req, reply) => {
      state.count(`bgs:access:${req.params.fileNumber}`);
      if (await applyFault(state.faults.bgs, reply)) return reply;
      const restricted =
        state.restricted.has(req.params.fileNumber) ||
        state.veterans.get(req.params.fileNumber)?.restricted;
      return { access: !restricted };
    },
  );

  // A notification provider (email and SMS) that keeps what it was asked to send.
  for (const channel of ['email', 'sms'] as const) {
    app.post<{ Body: { to?: string; subject?: string; body?: string } }>(
      `/notify/${channel}`,
      async (req, reply) => {
        if (state.faults.notify.mode === 'error')
          return reply.status(503).send({ error: 'simulated provider failure' });
        state.notices.push({
          channel,
          to: String(req.body?.to ?? ''),
          subject: String(req.body?.subject ?? ''),
          body: String(req.body?.body ?? ''),
          at: Date.now(),
        });
        return { accepted: true };
      },
    );
  }
  app.get('/_sim/notices', async () => state.notices);

  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/health/ready', async () => ({ status: 'ok' }));

  // Control API for tests and local runs.
  app.put<{ Params: { source: SimSource }; Body: Fault }>('/_sim/faults/:source', async (req) => {
    state.faults[req.params.source] = req.body;
    return state.faults;
  });
  app.put<{ Params: { fileNumber: string }; Body: VeteranOverride }>(
    '/_sim/veterans/:fileNumber',
    async (req) => {
      state.veterans.set(req.params.fileNumber, req.body);
      return req.body;
    },
  );
  app.get('/_sim/calls', async () => Object.fromEntries(state.calls));
  app.post('/_sim/reset', async () => {
    state.faults = {
      vbms: { mode: 'none' },
      vva: { mode: 'none' },
      bgs: { mode: 'none' },
      notify: { mode: 'none' },
    };
    state.veterans.clear();
    state.calls.clear();
    state.restricted.clear();
    state.notices = [];
    return { ok: true };
  });
  return { app, state, lighthouse, google };
}
