import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createHash, randomBytes } from 'node:crypto';
import { GoogleOidc } from './google-oidc';

/**
 * A simulator of the Google APIs extraction uses, in their own shapes: OAuth 2.0 (authorize
 * redirect, code and refresh-token grants, revoke, userinfo), Drive v3 (file metadata, media,
 * multipart upload) and Gmail v1 (profile, messages with `q`, attachments, history with its
 * 404 for a cursor too old, watch/stop, send). Pub/Sub push is simulated by posting the
 * notification to a configured endpoint. Failures can be injected per API; calls are counted.
 */
export type GoogleApi = 'token' | 'userinfo' | 'drive' | 'gmail';

export interface GoogleFault {
  api: GoogleApi;
  status: number;
  /** How many calls fail before the API recovers (default: until cleared). */
  times?: number;
}

export interface GoogleSimConfig {
  accessTokenTtlSeconds: number;
  /** Added to token grants, so concurrent refreshes would overlap in a test. */
  tokenDelayMs: number;
  faults: GoogleFault[];
  /**
   * Where Pub/Sub would push Gmail notifications. With `oidc`, each push carries an identity
   * token of that service account for that audience (the push URL when none is given), as a
   * push subscription with authentication sends.
   */
  push: {
    url: string;
    headers?: Record<string, string>;
    oidc?: { serviceAccountEmail: string; audience?: string };
  } | null;
}

interface SimAttachment {
  attachmentId: string;
  partId: string;
  filename: string;
  mimeType: string;
  data: Buffer;
  /** Listed in the message but no longer served (404), as after a deletion. */
  gone?: boolean;
}

interface SimMessage {
  id: string;
  threadId: string;
  historyId: number;
  internalDate: number;
  from: string;
  to: string;
  subject: string;
  labelIds: string[];
  attachments: SimAttachment[];
  raw?: string;
}

interface Mailbox {
  historyId: number;
  /** History older than this is gone: a cursor before it gets 404. */
  historyFloor: number;
  messages: SimMessage[];
  history: Array<{ id: number; messageId: string }>;
  watch: { topicName: string; expiration: number } | null;
}

interface DriveFile {
  id: string;
  name: string;
  mimeType: string;
  parents: string[];
  data: Buffer;
  owner: string;
}

export class GoogleState {
  config: GoogleSimConfig = GoogleState.defaults();
  codes = new Map<string, { email: string; scopes: string[]; redirectUri: string }>();
  accessTokens = new Map<string, { email: string; expiresAt: number }>();
  refreshTokens = new Map<string, { email: string; scopes: string[] }>();
  mailboxes = new Map<string, Mailbox>();
  drive = new Map<string, DriveFile>();
  calls = new Map<string, number>();
  pushes: Array<{ emailAddress: string; historyId: number; status: number }> = [];
  private signer?: GoogleOidc;
  /**
   * Signs push identity tokens; its certificates are served at /google/oauth2/v1/certs. Made
   * on first use: a key pair is not worth making for a simulator that never pushes.
   */
  get oidc(): GoogleOidc {
    return (this.signer ??= new GoogleOidc());
  }

  static defaults(): GoogleSimConfig {
    return { accessTokenTtlSeconds: 3600, tokenDelayMs: 0, faults: [], push: null };
  }

  count(key: string): void {
    this.calls.set(key, (this.calls.get(key) ?? 0) + 1);
  }

  mailbox(email: string): Mailbox {
    const key = email.toLowerCase();
    let m = this.mailboxes.get(key);
    if (!m) {
      m = { historyId: 1000, historyFloor: 0, messages: [], history: [], watch: null };
      this.mailboxes.set(key, m);
    }
    return m;
  }

  /** The fault to answer with, if one is active for this API (and uses one of its times). */
  fault(api: GoogleApi): GoogleFault | undefined {
    const i = this.config.faults.findIndex((f) => f.api === api);
    if (i < 0) return undefined;
    const f = this.config.faults[i];
    if (f.times !== undefined) {
      f.times--;
      if (f.times <= 0) this.config.faults.splice(i, 1);
    }
    return f;
  }

  reset(): void {
    this.config = GoogleState.defaults();
    for (const m of [this.codes, this.accessTokens, this.refreshTokens, this.mailboxes]) m.clear();
    this.drive.clear();
    this.calls.clear();
    this.pushes = [];
  }
}

const id = (bytes = 8) => randomBytes(bytes).toString('hex');
const b64url = (b: Buffer) => b.toString('base64url');

function googleError(reply: FastifyReply, code: number, message: string, status?: string) {
  return reply.status(code).send({
    error: {
      code,
      message,
      status:
        status ??
        { 400: 'INVALID_ARGUMENT', 401: 'UNAUTHENTICATED', 403: 'PERMISSION_DENIED' }[code] ??
        (code === 404 ? 'NOT_FOUND' : code === 429 ? 'RESOURCE_EXHAUSTED' : 'UNAVAILABLE'),
    },
  });
}

/** Gmail's search operators this simulator understands; other words match the subject. */
export function matchesQuery(m: SimMessage, q: string, now = Date.now()): boolean {
  const terms = q.match(/(?:[^\s"]+:"[^"]*"|[^\s"]+:[^\s"]+|"[^"]*"|\S+)/g) ?? [];
  return terms.every((term) => {
    const i = term.indexOf(':');
    const op = i > 0 ? term.slice(0, i).toLowerCase() : '';
    const value = (i > 0 ? term.slice(i + 1) : term).replace(/^"|"$/g, '').toLowerCase();
    switch (op) {
      case 'from':
        return m.from.toLowerCase().includes(value);
      case 'to':
        return m.to.toLowerCase().includes(value);
      case 'subject':
        return m.subject.toLowerCase().includes(value);
      case 'has':
        return value === 'attachment' ? m.attachments.length > 0 : false;
      case 'filename':
        return m.attachments.some(
          (a) =>
            a.filename.toLowerCase().endsWith(`.${value}`) ||
            a.filename.toLowerCase().includes(value),
        );
      case 'newer_than': {
        const n = /^(\d+)([dmy])$/.exec(value);
        if (!n) return false;
        const days = Number(n[1]) * ({ d: 1, m: 31, y: 366 } as const)[n[2] as 'd' | 'm' | 'y'];
        return m.internalDate >= now - days * 86400_000;
      }
      default:
        return m.subject.toLowerCase().includes(value);
    }
  });
}

function messageResource(m: SimMessage, format: string) {
  const headers = [
    { name: 'From', value: m.from },
    { name: 'To', value: m.to },
    { name: 'Subject', value: m.subject },
    { name: 'Date', value: new Date(m.internalDate).toUTCString() },
  ];
  const base = {
    id: m.id,
    threadId: m.threadId,
    labelIds: m.labelIds,
    snippet: m.subject,
    historyId: String(m.historyId),
    internalDate: String(m.internalDate),
    sizeEstimate: m.attachments.reduce((n, a) => n + a.data.length, 500),
  };
  if (format === 'minimal') return base;
  return {
    ...base,
    payload: {
      partId: '',
      mimeType: m.attachments.length ? 'multipart/mixed' : 'text/plain',
      filename: '',
      headers,
      body: { size: 0 },
      parts: [
        {
          partId: '0',
          mimeType: 'text/plain',
          filename: '',
          headers: [{ name: 'Content-Type', value: 'text/plain; charset="UTF-8"' }],
          body: { size: m.subject.length, data: b64url(Buffer.from(m.subject)) },
        },
        ...m.attachments.map((a) => ({
          partId: a.partId,
          mimeType: a.mimeType,
          filename: a.filename,
          headers: [
            { name: 'Content-Type', value: `${a.mimeType}; name="${a.filename}"` },
            { name: 'Content-Disposition', value: `attachment; filename="${a.filename}"` },
          ],
          body: { attachmentId: a.attachmentId, size: a.data.length },
        })),
      ],
    },
  };
}

/** Splits a multipart/related body (Drive's multipart upload) into its parts. */
function multipartRelated(
  body: Buffer,
  contentType: string,
): Array<{ type: string; data: Buffer }> {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new Error('no boundary');
  const text = body.toString('latin1');
  return text
    .split(`--${boundary}`)
    .slice(1, -1)
    .map((chunk) => {
      const sep = chunk.indexOf('\r\n\r\n');
      const head = chunk.slice(0, sep);
      const data = chunk.slice(sep + 4).replace(/\r\n$/, '');
      return {
        type: /content-type:\s*([^\r\n;]+)/i.exec(head)?.[1]?.trim() ?? 'application/octet-stream',
        data: Buffer.from(data, 'latin1'),
      };
    });
}

export function registerGoogle(app: FastifyInstance): GoogleState {
  const state = new GoogleState();

  // Drive's multipart upload arrives as multipart/related; Gmail's send as JSON.
  app.addContentTypeParser('multipart/related', { parseAs: 'buffer' }, (_req, body, done) =>
    done(null, body),
  );

  const fail = async (api: GoogleApi, reply: FastifyReply): Promise<boolean> => {
    const f = state.fault(api);
    if (!f) return false;
    state.count(`${api}:fault`);
    if (api === 'token') await reply.status(f.status).send({ error: 'temporarily_unavailable' });
    else await googleError(reply, f.status, 'Simulated failure.');
    return true;
  };

  /** The mailbox owner of a bearer token, or a 401 in Google's shape. */
  const owner = async (req: FastifyRequest, reply: FastifyReply): Promise<string | null> => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const t = token ? state.accessTokens.get(token) : undefined;
    if (!t || t.expiresAt <= Date.now()) {
      await googleError(reply, 401, 'Request had invalid authentication credentials.');
      return null;
    }
    return t.email;
  };

  const issueAccess = (email: string) => {
    const token = `ya29.${id(24)}`;
    state.accessTokens.set(token, {
      email,
      expiresAt: Date.now() + state.config.accessTokenTtlSeconds * 1000,
    });
    return token;
  };

  // --- OAuth 2.0 ---
  // Google's signing certificates for identity tokens, cached by clients per Cache-Control.
  app.get('/google/oauth2/v1/certs', async (_req, reply) =>
    reply.header('cache-control', 'public, max-age=300, must-revalidate').send(state.oidc.certs()),
  );
  app.get<{ Querystring: Record<string, string | undefined> }>(
    '/google/o/oauth2/v2/auth',
    async (req, reply) => {
      const { client_id, redirect_uri, response_type, scope, state: st, login_hint } = req.query;
      if (!client_id || !redirect_uri || response_type !== 'code' || !scope)
        return reply.status(400).send({ error: 'invalid_request' });
      const code = `4/${id(16)}`;
      state.codes.set(code, {
        email: login_hint ?? 'user@example.com',
        scopes: scope.split(' '),
        redirectUri: redirect_uri,
      });
      const to = new URL(redirect_uri);
      to.searchParams.set('code', code);
      if (st) to.searchParams.set('state', st);
      to.searchParams.set('scope', scope);
      return reply.redirect(to.toString(), 302);
    },
  );

  app.post<{ Body: Record<string, string | undefined> }>(
    '/google/oauth2/token',
    async (req, reply) => {
      const b = req.body ?? {};
      state.count(`token:${b.grant_type ?? 'none'}`);
      if (state.config.tokenDelayMs)
        await new Promise((r) => setTimeout(r, state.config.tokenDelayMs));
      if (await fail('token', reply)) return reply;
      if (!b.client_id || !b.client_secret)
        return reply.status(401).send({ error: 'invalid_client' });
      if (b.grant_type === 'authorization_code') {
        const c = b.code ? state.codes.get(b.code) : undefined;
        if (!c || c.redirectUri !== b.redirect_uri)
          return reply
            .status(400)
            .send({ error: 'invalid_grant', error_description: 'Bad Request' });
        state.codes.delete(b.code!);
        const refresh = `1//${id(24)}`;
        state.refreshTokens.set(refresh, { email: c.email, scopes: c.scopes });
        return {
          access_token: issueAccess(c.email),
          expires_in: state.config.accessTokenTtlSeconds,
          refresh_token: refresh,
          scope: c.scopes.join(' '),
          token_type: 'Bearer',
        };
      }
      if (b.grant_type === 'refresh_token') {
        const r = b.refresh_token ? state.refreshTokens.get(b.refresh_token) : undefined;
        if (!r)
          return reply.status(400).send({
            error: 'invalid_grant',
            error_description: 'Token has been expired or revoked.',
          });
        return {
          access_token: issueAccess(r.email),
          expires_in: state.config.accessTokenTtlSeconds,
          scope: r.scopes.join(' '),
          token_type: 'Bearer',
        };
      }
      return reply.status(400).send({ error: 'unsupported_grant_type' });
    },
  );

  app.post<{ Querystring: { token?: string }; Body: { token?: string } | undefined }>(
    '/google/oauth2/revoke',
    async (req, reply) => {
      state.count('token:revoke');
      const token = req.query.token ?? req.body?.token;
      if (!token) return reply.status(400).send({ error: 'invalid_request' });
      const r = state.refreshTokens.get(token);
      if (r) {
        state.refreshTokens.delete(token);
        // Revoking a refresh token revokes the access tokens it issued.
        for (const [k, v] of state.accessTokens)
          if (v.email === r.email) state.accessTokens.delete(k);
        return {};
      }
      if (state.accessTokens.delete(token)) return {};
      return reply.status(400).send({ error: 'invalid_token' });
    },
  );

  app.get('/google/oauth2/v3/userinfo', async (req, reply) => {
    state.count('userinfo');
    if (await fail('userinfo', reply)) return reply;
    const email = await owner(req, reply);
    if (!email) return reply;
    return {
      sub: createHash('sha256').update(email).digest('hex').slice(0, 21),
      email,
      email_verified: true,
    };
  });

  // --- Drive v3 ---
  app.get<{ Params: { id: string }; Querystring: { alt?: string } }>(
    '/google/drive/v3/files/:id',
    async (req, reply) => {
      state.count(req.query.alt === 'media' ? 'drive:media' : 'drive:get');
      if (await fail('drive', reply)) return reply;
      const email = await owner(req, reply);
      if (!email) return reply;
      const f = state.drive.get(req.params.id);
      if (!f || f.owner !== email)
        return googleError(reply, 404, `File not found: ${req.params.id}.`);
      if (req.query.alt === 'media') return reply.type(f.mimeType).send(f.data);
      return {
        kind: 'drive#file',
        id: f.id,
        name: f.name,
        mimeType: f.mimeType,
        parents: f.parents,
        size: String(f.data.length),
        md5Checksum: createHash('md5').update(f.data).digest('hex'),
      };
    },
  );

  app.post<{ Querystring: { uploadType?: string } }>(
    '/google/upload/drive/v3/files',
    async (req, reply) => {
      state.count('drive:upload');
      if (await fail('drive', reply)) return reply;
      const email = await owner(req, reply);
      if (!email) return reply;
      if (req.query.uploadType !== 'multipart')
        return googleError(reply, 400, 'Invalid uploadType.');
      let parts;
      try {
        parts = multipartRelated(req.body as Buffer, req.headers['content-type'] ?? '');
      } catch {
        return googleError(reply, 400, 'Malformed multipart body.');
      }
      if (parts.length !== 2) return googleError(reply, 400, 'Expected metadata and media.');
      const meta = JSON.parse(parts[0].data.toString('utf8')) as {
        name?: string;
        mimeType?: string;
        parents?: string[];
      };
      const f: DriveFile = {
        id: id(16),
        name: meta.name ?? 'Untitled',
        mimeType: meta.mimeType ?? parts[1].type,
        parents: meta.parents ?? ['root'],
        data: parts[1].data,
        owner: email,
      };
      state.drive.set(f.id, f);
      return { kind: 'drive#file', id: f.id, name: f.name, mimeType: f.mimeType };
    },
  );

  // --- Gmail v1 (the authorised user is `me`) ---
  const gmail = '/google/gmail/v1/users/me';
  const withMailbox = async (req: FastifyRequest, reply: FastifyReply) => {
    if (await fail('gmail', reply)) return null;
    const email = await owner(req, reply);
    return email ? { email, box: state.mailbox(email) } : null;
  };

  app.get(`${gmail}/profile`, async (req, reply) => {
    state.count('gmail:profile');
    const m = await withMailbox(req, reply);
    if (!m) return reply;
    return {
      emailAddress: m.email,
      messagesTotal: m.box.messages.length,
      threadsTotal: m.box.messages.length,
      historyId: String(m.box.historyId),
    };
  });

  app.get<{ Querystring: { q?: string; maxResults?: string; pageToken?: string } }>(
    `${gmail}/messages`,
    async (req, reply) => {
      state.count('gmail:list');
      const m = await withMailbox(req, reply);
      if (!m) return reply;
      const max = Math.min(Number(req.query.maxResults ?? 100) || 100, 500);
      const offset = Number(req.query.pageToken ?? 0) || 0;
      const all = [...m.box.messages]
        .filter((x) => !x.labelIds.includes('SENT'))
        .filter((x) => !req.query.q || matchesQuery(x, req.query.q))
        .sort((a, b) => b.internalDate - a.internalDate);
      const page = all.slice(offset, offset + max);
      return {
        ...(page.length ? { messages: page.map((x) => ({ id: x.id, threadId: x.threadId })) } : {}),
        ...(offset + max < all.length ? { nextPageToken: String(offset + max) } : {}),
        resultSizeEstimate: all.length,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format?: string } }>(
    `${gmail}/messages/:id`,
    async (req, reply) => {
      state.count('gmail:get');
      const m = await withMailbox(req, reply);
      if (!m) return reply;
      const msg = m.box.messages.find((x) => x.id === req.params.id);
      if (!msg) return googleError(reply, 404, 'Requested entity was not found.');
      return messageResource(msg, req.query.format ?? 'full');
    },
  );

  app.get<{ Params: { id: string; aid: string } }>(
    `${gmail}/messages/:id/attachments/:aid`,
    async (req, reply) => {
      state.count('gmail:attachment');
      const m = await withMailbox(req, reply);
      if (!m) return reply;
      const a = m.box.messages
        .find((x) => x.id === req.params.id)
        ?.attachments.find((x) => x.attachmentId === req.params.aid);
      if (!a || a.gone) return googleError(reply, 404, 'Requested entity was not found.');
      return { size: a.data.length, data: b64url(a.data) };
    },
  );

  app.get<{
    Querystring: {
      startHistoryId?: string;
      historyTypes?: string;
      maxResults?: string;
      pageToken?: string;
    };
  }>(`${gmail}/history`, async (req, reply) => {
    state.count('gmail:history');
    const m = await withMailbox(req, reply);
    if (!m) return reply;
    const start = Number(req.query.startHistoryId);
    if (!Number.isFinite(start)) return googleError(reply, 400, 'Invalid startHistoryId.');
    // Gmail keeps history for a limited time; an older cursor gets 404 and needs a full sync.
    if (start < m.box.historyFloor)
      return googleError(reply, 404, 'Requested entity was not found.');
    const max = Math.min(Number(req.query.maxResults ?? 100) || 100, 500);
    const offset = Number(req.query.pageToken ?? 0) || 0;
    const after = m.box.history.filter((h) => h.id > start);
    const page = after.slice(offset, offset + max);
    return {
      ...(page.length
        ? {
            history: page.map((h) => ({
              id: String(h.id),
              messages: [{ id: h.messageId, threadId: h.messageId }],
              messagesAdded: [
                {
                  message: {
                    id: h.messageId,
                    threadId: h.messageId,
                    labelIds: m.box.messages.find((x) => x.id === h.messageId)?.labelIds ?? [],
                  },
                },
              ],
            })),
          }
        : {}),
      ...(offset + max < after.length ? { nextPageToken: String(offset + max) } : {}),
      historyId: String(m.box.historyId),
    };
  });

  app.post<{ Body: { topicName?: string; labelIds?: string[] } }>(
    `${gmail}/watch`,
    async (req, reply) => {
      state.count('gmail:watch');
      const m = await withMailbox(req, reply);
      if (!m) return reply;
      if (!req.body?.topicName?.startsWith('projects/'))
        return googleError(reply, 400, 'Invalid topicName.');
      // Gmail watches last 7 days and must be renewed before then.
      m.box.watch = { topicName: req.body.topicName, expiration: Date.now() + 7 * 86400_000 };
      return { historyId: String(m.box.historyId), expiration: String(m.box.watch.expiration) };
    },
  );

  app.post(`${gmail}/stop`, async (req, reply) => {
    state.count('gmail:stop');
    const m = await withMailbox(req, reply);
    if (!m) return reply;
    m.box.watch = null;
    return reply.status(204).send();
  });

  app.post<{ Body: { raw?: string } }>(`${gmail}/messages/send`, async (req, reply) => {
    state.count('gmail:send');
    const m = await withMailbox(req, reply);
    if (!m) return reply;
    if (!req.body?.raw)
      return googleError(reply, 400, "'raw' RFC822 payload message string is required.");
    const raw = Buffer.from(req.body.raw, 'base64url').toString('utf8');
    const header = (n: string) => new RegExp(`^${n}: (.*)$`, 'im').exec(raw)?.[1]?.trim() ?? '';
    const msg: SimMessage = {
      id: id(),
      threadId: id(),
      historyId: ++m.box.historyId,
      internalDate: Date.now(),
      from: m.email,
      to: header('To'),
      subject: header('Subject'),
      labelIds: ['SENT'],
      attachments: [],
      raw,
    };
    m.box.messages.push(msg);
    return { id: msg.id, threadId: msg.threadId, labelIds: msg.labelIds };
  });

  // --- Control API ---
  app.put<{ Body: Partial<GoogleSimConfig> }>('/_sim/google/config', async (req) => {
    state.config = { ...state.config, ...req.body };
    return state.config;
  });
  app.post<{ Body: { owner: string; name: string; mimeType: string; dataBase64: string } }>(
    '/_sim/google/drive/files',
    async (req) => {
      const f: DriveFile = {
        id: id(16),
        name: req.body.name,
        mimeType: req.body.mimeType,
        parents: ['root'],
        data: Buffer.from(req.body.dataBase64, 'base64'),
        owner: req.body.owner,
      };
      state.drive.set(f.id, f);
      return { id: f.id };
    },
  );
  app.get<{ Params: { id: string } }>('/_sim/google/drive/files/:id', async (req, reply) => {
    const f = state.drive.get(req.params.id);
    if (!f) return reply.status(404).send({ error: 'no such file' });
    return { ...f, data: f.data.toString('base64') };
  });
  app.post<{
    Body: {
      to: string;
      from: string;
      subject: string;
      attachments?: Array<{ filename: string; mimeType: string; dataBase64: string }>;
    };
  }>('/_sim/google/gmail/messages', async (req) => {
    const box = state.mailbox(req.body.to);
    const msg: SimMessage = {
      id: id(),
      threadId: id(),
      historyId: ++box.historyId,
      internalDate: Date.now(),
      from: req.body.from,
      to: req.body.to,
      subject: req.body.subject,
      labelIds: ['INBOX', 'UNREAD'],
      attachments: (req.body.attachments ?? []).map((a, i) => ({
        attachmentId: `ANGjdJ${id(24)}`,
        partId: String(i + 1),
        filename: a.filename,
        mimeType: a.mimeType,
        data: Buffer.from(a.dataBase64, 'base64'),
      })),
    };
    box.messages.push(msg);
    box.history.push({ id: msg.historyId, messageId: msg.id });
    let pushed: number | null = null;
    if (box.watch && box.watch.expiration > Date.now() && state.config.push) {
      // Pub/Sub push: the data is base64 JSON of {emailAddress, historyId}.
      const data = Buffer.from(
        JSON.stringify({ emailAddress: req.body.to, historyId: msg.historyId }),
      ).toString('base64');
      const { url, headers, oidc } = state.config.push;
      const auth: Record<string, string> = oidc
        ? {
            authorization: `Bearer ${await state.oidc.token(oidc.audience ?? url, oidc.serviceAccountEmail)}`,
          }
        : {};
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers, ...auth },
        body: JSON.stringify({
          message: { data, messageId: id(), publishTime: new Date().toISOString() },
          subscription: 'projects/sim/subscriptions/gmail-push',
        }),
      }).catch(() => null);
      pushed = res?.status ?? 0;
      state.pushes.push({ emailAddress: req.body.to, historyId: msg.historyId, status: pushed });
    }
    return {
      id: msg.id,
      historyId: msg.historyId,
      attachmentIds: msg.attachments.map((a) => a.attachmentId),
      pushStatus: pushed,
    };
  });
  /** Stops serving a message's attachments (they stay listed in the message). */
  app.post<{ Params: { email: string; id: string } }>(
    '/_sim/google/gmail/:email/messages/:id/drop-attachments',
    async (req, reply) => {
      const msg = state.mailbox(req.params.email).messages.find((m) => m.id === req.params.id);
      if (!msg) return reply.status(404).send({ error: 'no such message' });
      for (const a of msg.attachments) a.gone = true;
      return { dropped: msg.attachments.length };
    },
  );
  /** Forgets all history so far, as Gmail does after about a week. */
  app.post<{ Params: { email: string } }>(
    '/_sim/google/gmail/:email/expire-history',
    async (req) => {
      const box = state.mailbox(req.params.email);
      box.historyFloor = box.historyId + 1;
      box.history = [];
      return { historyFloor: box.historyFloor };
    },
  );
  app.post('/_sim/google/expire-access-tokens', async () => {
    for (const t of state.accessTokens.values()) t.expiresAt = 0;
    return { expired: state.accessTokens.size };
  });
  app.get('/_sim/google/state', async () => ({
    calls: Object.fromEntries(state.calls),
    pushes: state.pushes,
    watches: Object.fromEntries([...state.mailboxes].map(([k, v]) => [k, v.watch])),
    sent: [...state.mailboxes.values()].flatMap((b) =>
      b.messages
        .filter((x) => x.labelIds.includes('SENT'))
        .map((x) => ({ to: x.to, subject: x.subject, raw: x.raw })),
    ),
    driveFiles: [...state.drive.values()].map((f) => ({
      id: f.id,
      name: f.name,
      mimeType: f.mimeType,
      parents: f.parents,
      size: f.data.length,
    })),
  }));
  app.post('/_sim/google/reset', async () => {
    state.reset();
    return { ok: true };
  });
  return state;
}
