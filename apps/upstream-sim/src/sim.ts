import Fastify, { type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { registerEfolderUpstreams } from './efolder-sim';
import { type GoogleState, registerGoogle } from './google-sim';
import { type OpenAiState, registerOpenAi } from './openai-sim';
import { LighthouseState, registerLighthouse } from './lighthouse-sim';
import { DOCUMENT_TYPES, seed, simUuid } from './sim-data';

/**
 * Simulators of the upstream systems: VBMS (Claims Evidence and the eFolder read service),
 * VVA and BGS for manifest-cache (efolder-sim.ts), Lighthouse, Google and a notification
 * provider. Deterministic per file number, with failure injection (slow, 5xx, connection
 * reset) and call counters for tests.
 */
export type SimSource = 'vbms' | 'vva' | 'bgs' | 'notify';
export type FaultMode = 'none' | 'error' | 'slow' | 'down';

export interface Fault {
  mode: FaultMode;
  delayMs?: number;
  status?: number;
  /** Claims Evidence: pages before this one answer, this one and later fail (a partial failure). */
  fromPage?: number;
}

export interface VeteranOverride {
  vbmsDocuments?: number;
  vvaDocuments?: number;
  /** Lists a document twice, as VBMS sometimes does. */
  duplicates?: boolean;
  /** Above every user's sensitivity level but the system user's. */
  restricted?: boolean;
  /** Size of every document in bytes (default: varied, 20 KB to 600 KB). */
  documentSize?: number;
  /** BGS has no record ("No BIRLS record found"). */
  notInBgs?: boolean;
  /** The veteran's claim number, when their file number is their SSN: documents are filed under both. */
  claimNumber?: string;
  /** VBMS does not know this file number. */
  vbmsUnknown?: boolean;
  /** The participant id of the organisation holding the veteran's power of attorney. */
  poaParticipantId?: string;
  poaCode?: string;
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
  /** Users of a representative's organisation (CSS id → the organisation's participant id). */
  vsoUsers = new Map<string, string>();
  /** BGS's answers for this user are never refused (eFolder's system user). */
  systemUser = 'EFOLDER_SYSTEM';
  /** When set, VVA refuses other credentials; Claims Evidence another bearer token. */
  vvaCredentials: { username: string; password: string } | null = null;
  claimEvidenceToken: string | null = null;
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
      const [typeId, typeDescription] = DOCUMENT_TYPES[s % DOCUMENT_TYPES.length];
      const received = new Date(Date.UTC(2015 + (s % 10), (s >>> 4) % 12, 1 + ((s >>> 8) % 28)));
      // Version ids are `{UPPER-CASE-UUID}` whatever the source: department-of-veterans-affairs/
      // caseflow-efolder app/services/json_api_response_adapter.rb upper-cases Claims
      // Evidence's bare UUIDs and wraps them in braces, as VBMS and VVA ids already are.
      const id = simUuid(source, fileNumber, String(i));
      docs.push({
        document_id: id,
        series_id: source === 'vbms' ? simUuid('series', source, fileNumber, String(i)) : id,
        version_id: id,
        type_id: typeId,
        type_description: typeDescription,
        mime_type: s % 5 === 0 ? 'image/tiff' : 'application/pdf',
        received_at: received.toISOString(),
        upload_date: new Date(received.getTime() + 86400000).toISOString(),
        size: o.documentSize ?? 20_000 + (s % 580_000),
        ...(source === 'vva' ? { jro: String(300 + (s % 100)) } : {}),
      });
    }
    if (o.duplicates && docs.length > 0) docs.push({ ...docs[0] });
    return docs;
  }

  find(
    source: 'vbms' | 'vva',
    id: string,
    by: 'document_id' | 'series_id' = 'document_id',
  ): SimDocument | undefined {
    // Documents are found among the file numbers listed so far.
    for (const fn of new Set([...this.veterans.keys(), ...this.known])) {
      const d = this.documents(source, fn).find((x) => x[by] === id);
      if (d) return d;
    }
    return undefined;
  }

  known = new Set<string>();
}

export function createUpstreamSim(state = new SimState()): {
  app: FastifyInstance;
  state: SimState;
  lighthouse: LighthouseState;
  google: GoogleState;
  openai: OpenAiState;
} {
  const app = Fastify({ logger: false });
  void app.register(formbody);
  const lighthouse = registerLighthouse(app);
  const google = registerGoogle(app);
  const openai = registerOpenAi(app);

  registerEfolderUpstreams(app, state);

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
    state.vsoUsers.clear();
    state.notices = [];
    return { ok: true };
  });
  return { app, state, lighthouse, google, openai };
}
