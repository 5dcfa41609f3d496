import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { ExtractionConfig } from '../config';

/** A Google call failed; `status` is HTTP's (0 for the network), `reason` Google's error. */
export class GoogleApiError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'GoogleApiError';
  }
  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}

export interface TokenGrant {
  accessToken: string;
  refreshToken?: string;
  expiresIn: number;
  scopes: string[];
}

export interface GmailPart {
  partId: string;
  mimeType: string;
  filename: string;
  body: { attachmentId?: string; size: number };
  parts?: GmailPart[];
}
export interface GmailMessage {
  id: string;
  threadId: string;
  historyId: string;
  internalDate: string;
  payload?: GmailPart & { headers: Array<{ name: string; value: string }> };
}

export const GOOGLE_SCOPES = [
  'openid',
  'email',
  'https://www.googleapis.com/auth/drive.file',
  'https://www.googleapis.com/auth/drive.readonly',
  'https://www.googleapis.com/auth/gmail.readonly',
  'https://www.googleapis.com/auth/gmail.send',
];

/**
 * Google OAuth 2.0, Drive v3 and Gmail v1 over HTTPS, as their REST references describe.
 * Transient failures (network, 429, 5xx) are retried with exponential back-off; the rest
 * surface as GoogleApiError. Tokens are passed in, never logged.
 */
@Injectable()
export class GoogleClient {
  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  authorizeUrl(redirectUri: string, state: string): string {
    const u = new URL(this.config.GOOGLE_AUTH_URL);
    u.searchParams.set('client_id', this.config.GOOGLE_CLIENT_ID);
    u.searchParams.set('redirect_uri', redirectUri);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('scope', GOOGLE_SCOPES.join(' '));
    u.searchParams.set('access_type', 'offline');
    u.searchParams.set('prompt', 'consent');
    u.searchParams.set('include_granted_scopes', 'true');
    u.searchParams.set('state', state);
    return u.toString();
  }

  async exchangeCode(code: string, redirectUri: string): Promise<TokenGrant> {
    return this.grant({ grant_type: 'authorization_code', code, redirect_uri: redirectUri });
  }

  async refresh(refreshToken: string): Promise<TokenGrant> {
    return this.grant({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  async revoke(token: string): Promise<void> {
    try {
      await this.call('POST', `${this.config.GOOGLE_OAUTH_URL}/revoke`, {
        form: { token },
      });
    } catch (err) {
      // Already revoked or expired: what disconnecting wanted anyway.
      if (!(err instanceof GoogleApiError && err.status === 400)) throw err;
    }
  }

  async userinfo(accessToken: string): Promise<{ email: string; sub: string }> {
    return this.json(
      await this.call('GET', `${this.config.GOOGLE_OAUTH_URL}/v3/userinfo`, { token: accessToken }),
    );
  }

  // --- Drive v3 ---
  async driveFile(token: string, fileId: string) {
    return this.json<{ id: string; name: string; mimeType: string; size?: string }>(
      await this.call(
        'GET',
        this.api(`/drive/v3/files/${enc(fileId)}`, { fields: 'id,name,mimeType,size' }),
        {
          token,
        },
      ),
    );
  }

  async driveMedia(token: string, fileId: string): Promise<Buffer> {
    const res = await this.call(
      'GET',
      this.api(`/drive/v3/files/${enc(fileId)}`, { alt: 'media' }),
      {
        token,
      },
    );
    return this.body(res);
  }

  async driveUpload(
    token: string,
    file: { name: string; mimeType: string; data: Buffer; parents?: string[] },
  ): Promise<{ id: string }> {
    const boundary = `part-${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
    const meta = JSON.stringify({
      name: file.name,
      mimeType: file.mimeType,
      parents: file.parents,
    });
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${meta}\r\n` +
          `--${boundary}\r\nContent-Type: ${file.mimeType}\r\n\r\n`,
      ),
      file.data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return this.json(
      await this.call('POST', this.api('/upload/drive/v3/files', { uploadType: 'multipart' }), {
        token,
        raw: { body, contentType: `multipart/related; boundary=${boundary}` },
      }),
    );
  }

  // --- Gmail v1 ---
  async gmailProfile(token: string): Promise<{ emailAddress: string; historyId: string }> {
    return this.json(await this.call('GET', this.gmail('/profile'), { token }));
  }

  async gmailList(token: string, q: string, maxResults: number, pageToken?: string) {
    return this.json<{ messages?: Array<{ id: string }>; nextPageToken?: string }>(
      await this.call(
        'GET',
        this.gmail('/messages', { q, maxResults: String(maxResults), pageToken }),
        { token },
      ),
    );
  }

  async gmailMessage(token: string, id: string): Promise<GmailMessage> {
    return this.json(
      await this.call('GET', this.gmail(`/messages/${enc(id)}`, { format: 'full' }), { token }),
    );
  }

  async gmailAttachment(token: string, messageId: string, attachmentId: string): Promise<Buffer> {
    const r = await this.json<{ data: string }>(
      await this.call(
        'GET',
        this.gmail(`/messages/${enc(messageId)}/attachments/${enc(attachmentId)}`),
        {
          token,
        },
      ),
    );
    return Buffer.from(r.data, 'base64url');
  }

  /** History since a cursor; null when the cursor is too old (Gmail answers 404). */
  async gmailHistory(token: string, startHistoryId: string, pageToken?: string) {
    try {
      return await this.json<{
        history?: Array<{ messagesAdded?: Array<{ message: { id: string } }> }>;
        nextPageToken?: string;
        historyId: string;
      }>(
        await this.call(
          'GET',
          this.gmail('/history', { startHistoryId, historyTypes: 'messageAdded', pageToken }),
          { token },
        ),
      );
    } catch (err) {
      if (err instanceof GoogleApiError && err.status === 404) return null;
      throw err;
    }
  }

  async gmailWatch(
    token: string,
    topicName: string,
  ): Promise<{ historyId: string; expiration: string }> {
    return this.json(
      await this.call('POST', this.gmail('/watch'), {
        token,
        json: { topicName, labelIds: ['INBOX'], labelFilterBehavior: 'INCLUDE' },
      }),
    );
  }

  async gmailSend(token: string, raw: Buffer): Promise<{ id: string }> {
    return this.json(
      await this.call('POST', this.gmail('/messages/send'), {
        token,
        json: { raw: raw.toString('base64url') },
      }),
    );
  }

  // --- transport ---
  private async grant(params: Record<string, string>): Promise<TokenGrant> {
    const r = await this.json<{
      access_token: string;
      refresh_token?: string;
      expires_in: number;
      scope?: string;
    }>(
      await this.call('POST', `${this.config.GOOGLE_OAUTH_URL}/token`, {
        form: {
          ...params,
          client_id: this.config.GOOGLE_CLIENT_ID,
          client_secret: this.config.GOOGLE_CLIENT_SECRET,
        },
      }),
    );
    if (typeof r.access_token !== 'string' || typeof r.expires_in !== 'number')
      throw new GoogleApiError(502, 'malformed', 'token endpoint answered without a token');
    return {
      accessToken: r.access_token,
      refreshToken: r.refresh_token,
      expiresIn: r.expires_in,
      scopes: (r.scope ?? '').split(' ').filter(Boolean),
    };
  }

  private api(path: string, query: Record<string, string | undefined> = {}): string {
    const u = new URL(`${this.config.GOOGLE_API_URL}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) u.searchParams.set(k, v);
    return u.toString();
  }

  private gmail(path: string, query: Record<string, string | undefined> = {}): string {
    return this.api(`/gmail/v1/users/me${path}`, query);
  }

  private async json<T>(res: Response): Promise<T> {
    try {
      return (await res.json()) as T;
    } catch {
      throw new GoogleApiError(502, 'malformed', 'Google answered with something that is not JSON');
    }
  }

  private async body(res: Response): Promise<Buffer> {
    const len = Number(res.headers.get('content-length') ?? 0);
    if (len > this.config.MAX_FILE_BYTES)
      throw new GoogleApiError(
        413,
        'too_large',
        `file is larger than ${this.config.MAX_FILE_BYTES} bytes`,
      );
    const buf = Buffer.from(await res.arrayBuffer());
    if (buf.length > this.config.MAX_FILE_BYTES)
      throw new GoogleApiError(
        413,
        'too_large',
        `file is larger than ${this.config.MAX_FILE_BYTES} bytes`,
      );
    return buf;
  }

  private async call(
    method: 'GET' | 'POST',
    url: string,
    o: {
      token?: string;
      form?: Record<string, string>;
      json?: unknown;
      raw?: { body: Buffer; contentType: string };
    },
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    let body: RequestInit['body'];
    if (o.token) headers.authorization = `Bearer ${o.token}`;
    if (o.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(o.form).toString();
    } else if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    } else if (o.raw) {
      headers['content-type'] = o.raw.contentType;
      body = o.raw.body;
    }
    const what = `${method} ${new URL(url).pathname}`;
    for (let attempt = 1; ; attempt++) {
      let err: GoogleApiError;
      try {
        const res = await fetch(url, {
          method,
          headers,
          body,
          signal: AbortSignal.timeout(this.config.GOOGLE_TIMEOUT_MS),
        });
        if (res.ok) return res;
        err = await errorOf(res, what);
      } catch (e) {
        err =
          e instanceof GoogleApiError
            ? e
            : new GoogleApiError(0, 'network', `${what}: ${(e as Error).message}`);
      }
      if (!err.retryable || attempt >= this.config.GOOGLE_MAX_ATTEMPTS) throw err;
      const wait = this.config.GOOGLE_BACKOFF_MS * 2 ** (attempt - 1);
      this.logger.warn(
        { call: what, status: err.status, attempt, waitMs: wait },
        'Google call failed; retrying',
      );
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

const enc = encodeURIComponent;

async function errorOf(res: Response, what: string): Promise<GoogleApiError> {
  let reason = `http_${res.status}`;
  let message = `${what} answered ${res.status}`;
  try {
    const b = (await res.json()) as {
      error?: string | { message?: string; status?: string };
      error_description?: string;
    };
    if (typeof b.error === 'string') {
      reason = b.error;
      message = `${what}: ${b.error}${b.error_description ? ` (${b.error_description})` : ''}`;
    } else if (b.error) {
      reason = b.error.status ?? reason;
      message = `${what}: ${b.error.message ?? res.status}`;
    }
  } catch {
    /* not JSON: keep the status */
  }
  return new GoogleApiError(res.status, reason, message);
}
