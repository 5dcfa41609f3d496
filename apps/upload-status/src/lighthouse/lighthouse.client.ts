import { Inject, Injectable } from '@nestjs/common';
import { importPKCS8, type KeyLike, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { UploadStatusConfig } from '../config';
import { type CallPace, LighthousePace } from './lighthouse-pace';
import type { LighthouseStatus } from '../uploads/state-machine';

export interface BulkStatus {
  statuses: LighthouseStatus[];
  notFound: string[];
  /** Entries that could not be read (left as they were, asked again next cycle). */
  malformed: number;
}

/** What Lighthouse answers when it knows none of the ids (vets-api cassette, see the corpus). */
const NOT_FOUND_DETAIL = /upload request async status not found/i;
/** The longest wait a rate limit header may impose on one call. */
const MAX_WAIT_MS = 120_000;

/** The batch call failed; `code` labels the metric (timeout, 5xx, 429, malformed, ...). */
export class LighthouseError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'LighthouseError';
  }
}

const STATUSES = new Set(['IN_PROGRESS', 'SUCCESS', 'FAILED']);

/**
 * Lighthouse Benefits Documents: a client-credentials token (cached until shortly before it
 * expires, fetched once however many batches need it) and the bulk status endpoint.
 *
 * The token request carries a client assertion as vets-api makes one: an RS256 JWT signed
 * for that request with the client's private key (iss = sub = client id, aud = the Okta
 * token URL, exp = iat + 300 s, a fresh jti), scope `documents.read documents.write`, and no
 * `client_id` form field (vets-api lib/lighthouse/auth/client_credentials/jwt_generator.rb
 * and service.rb).
 */
@Injectable()
export class LighthouseClient {
  private token?: { value: string; expiresAt: number };
  private pendingToken?: Promise<string>;
  private key?: Promise<KeyLike>;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: UploadStatusConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(LighthousePace) private readonly pace: CallPace,
  ) {}

  /** One bulk call, retried on timeouts, 5xx and 429 (after `Retry-After`) up to the limit. */
  async statuses(requestIds: string[], onError?: (code: string) => void): Promise<BulkStatus> {
    for (let attempt = 1; ; attempt++) {
      try {
        // Every call, retries too, waits its turn in the pace all replicas share.
        await this.pace.take();
        return await this.callOnce(requestIds);
      } catch (err) {
        const e =
          err instanceof LighthouseError
            ? err
            : new LighthouseError('network', (err as Error).message, true);
        onError?.(e.code);
        if (!e.retryable || attempt >= this.config.LIGHTHOUSE_MAX_ATTEMPTS) throw e;
        // The server's own wait when it named one, else exponential back-off; both with
        // jitter, so replicas told the same reset do not return in the same millisecond.
        const wait =
          e.retryAfterMs !== undefined
            ? e.retryAfterMs + Math.random() * 1000
            : this.config.LIGHTHOUSE_BACKOFF_MS * 2 ** (attempt - 1) * (0.5 + Math.random() / 2);
        this.logger.warn(
          { code: e.code, attempt, waitMs: wait, ids: requestIds.length },
          'Lighthouse call failed; retrying',
        );
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  private async callOnce(requestIds: string[]): Promise<BulkStatus> {
    const token = await this.accessToken();
    let res: Response;
    try {
      res = await fetch(
        `${this.config.LIGHTHOUSE_URL}/services/benefits-documents/v1/uploads/status`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          // Strings, as vets-api sends them: an int64 past 2^53 would lose digits as a number.
          body: JSON.stringify({ data: { requestIds } }),
          signal: AbortSignal.timeout(this.config.LIGHTHOUSE_TIMEOUT_MS),
        },
      );
    } catch (err) {
      const timeout = (err as Error).name === 'TimeoutError';
      throw new LighthouseError(timeout ? 'timeout' : 'network', (err as Error).message, true);
    }
    if (res.status === 401) {
      this.token = undefined; // expired early: fetch a new one on the retry
      await res.body?.cancel();
      throw new LighthouseError('401', 'token refused', true);
    }
    if (res.status === 429) {
      await res.body?.cancel();
      throw new LighthouseError('429', 'rate limited', true, waitFromHeaders(res.headers));
    }
    if (res.status === 404) {
      // Lighthouse's own "none of these ids" has its errors body; any other 404 (a gateway
      // route that does not match, recorded as `no Route matched`) says nothing of the ids.
      const text = await res.text().catch(() => '');
      if (isNotFoundBody(text)) return { statuses: [], notFound: requestIds, malformed: 0 };
      throw new LighthouseError(
        '404_route',
        `Lighthouse answered 404 without its not-found body: ${text.slice(0, 200)}`,
        true,
      );
    }
    if (res.status >= 500) {
      await res.body?.cancel();
      throw new LighthouseError(String(res.status), `Lighthouse answered ${res.status}`, true);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new LighthouseError(String(res.status), `Lighthouse answered ${res.status}`, false);
    }
    let body: unknown;
    try {
      body = JSON.parse(quoteRequestIds(await res.text()));
    } catch {
      throw new LighthouseError('malformed', 'answer is not JSON', false);
    }
    return parseBulk(body);
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.expiresAt > Date.now() + 30_000) return this.token.value;
    // One request for a token, however many batches ask at once.
    this.pendingToken ??= this.fetchToken().finally(() => (this.pendingToken = undefined));
    return this.pendingToken;
  }

  /** A client assertion made for one token request (it expires in 300 s, as vets-api's). */
  async clientAssertion(now = Math.floor(Date.now() / 1000)): Promise<string> {
    const pem = this.config.LIGHTHOUSE_PRIVATE_KEY;
    if (!pem) throw new LighthouseError('token', 'LIGHTHOUSE_PRIVATE_KEY is not configured', false);
    this.key ??= importPKCS8(pem.replace(/\\n/g, '\n'), 'RS256');
    const id = this.config.LIGHTHOUSE_CLIENT_ID;
    return new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' })
      .setIssuer(id)
      .setSubject(id)
      .setAudience(this.config.LIGHTHOUSE_TOKEN_AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(now + 300)
      .setJti(randomUUID())
      .sign(await this.key);
  }

  private async fetchToken(): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`${this.config.LIGHTHOUSE_URL}/oauth2/benefits-documents/system/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: await this.clientAssertion(),
          scope: this.config.LIGHTHOUSE_SCOPE,
        }),
        signal: AbortSignal.timeout(this.config.LIGHTHOUSE_TIMEOUT_MS),
      });
    } catch (err) {
      if (err instanceof LighthouseError) throw err;
      throw new LighthouseError('token', (err as Error).message, true);
    }
    if (res.status === 401 || res.status === 400) {
      // The recorded `invalid_client`: the assertion (key, client id or audience) is refused.
      // A fresh one is signed for every request, so repeating it now would not help.
      const body = (await res.json().catch(() => ({}))) as {
        error?: unknown;
        error_description?: unknown;
      };
      throw new LighthouseError(
        'token_refused',
        `token endpoint refused the client assertion: ${typeof body.error === 'string' ? body.error : res.status}${
          typeof body.error_description === 'string' ? ` (${body.error_description})` : ''
        }`,
        false,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new LighthouseError(
        'token',
        `token endpoint answered ${res.status}`,
        res.status >= 500 || res.status === 429,
        res.status === 429 ? waitFromHeaders(res.headers) : undefined,
      );
    }
    const body = (await res.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string')
      throw new LighthouseError('token', 'token answer has no access_token', false);
    const ttl = typeof body.expires_in === 'number' ? body.expires_in : 300;
    this.token = { value: body.access_token, expiresAt: Date.now() + ttl * 1000 };
    return body.access_token;
  }
}

/**
 * How long a 429 asks to wait: `Retry-After` (seconds or an HTTP date) when present, else
 * `Ratelimit-Reset` (seconds until the window resets; Lighthouse's gateway sends only this).
 */
export function waitFromHeaders(h: Headers, now = Date.now()): number | undefined {
  const retryAfter = h.get('retry-after');
  if (retryAfter !== null) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, MAX_WAIT_MS);
    const at = Date.parse(retryAfter);
    if (!Number.isNaN(at)) return Math.min(Math.max(at - now, 0), MAX_WAIT_MS);
  }
  const reset = Number(h.get('ratelimit-reset') ?? NaN);
  if (Number.isFinite(reset) && reset >= 0) return Math.min(reset * 1000, MAX_WAIT_MS);
  return undefined;
}

/**
 * Lighthouse writes request ids as JSON numbers (int64); JSON.parse would round those past
 * 2^53. They are quoted in the text first, so every digit survives.
 */
export function quoteRequestIds(text: string): string {
  return text
    .replace(/("requestId"\s*:\s*)(-?\d+)/g, '$1"$2"')
    .replace(
      /("requestIdsNotFound"\s*:\s*\[)([^\]]*)\]/g,
      (_m, head: string, list: string) =>
        `${head}${list.replace(/(-?\d+)/g, '"$1"').replace(/""/g, '"')}]`,
    );
}

function isNotFoundBody(text: string): boolean {
  try {
    const errors = (JSON.parse(text) as { errors?: Array<{ detail?: unknown }> }).errors;
    return (
      Array.isArray(errors) &&
      errors.some((e) => typeof e?.detail === 'string' && NOT_FOUND_DETAIL.test(e.detail))
    );
  } catch {
    return false;
  }
}

/**
 * Reads the bulk answer. Ids come back as numbers (recorded) or strings; they are kept as
 * strings. An entry that cannot be read is counted and skipped, not a reason to drop the
 * other answers: that upload is simply asked about again.
 */
export function parseBulk(body: unknown): BulkStatus {
  const data = (body as { data?: { statuses?: unknown; requestIdsNotFound?: unknown } })?.data;
  if (!data || !Array.isArray(data.statuses))
    throw new LighthouseError('malformed', 'answer has no data.statuses', false);
  let malformed = 0;
  const statuses: LighthouseStatus[] = [];
  for (const s of data.statuses as Array<Record<string, unknown> | null>) {
    const id = s?.requestId;
    if (
      (typeof id !== 'number' && typeof id !== 'string') ||
      !/^[1-9][0-9]{0,18}$/.test(String(id)) ||
      !STATUSES.has(String(s?.status))
    ) {
      malformed++;
      continue;
    }
    const time = (s!.time ?? {}) as { startTime?: unknown; endTime?: unknown };
    const steps = Array.isArray(s!.steps)
      ? (s!.steps as Array<{ name?: unknown; status?: unknown }>)
      : [];
    const error = s!.error as { detail?: unknown; step?: unknown } | null | undefined;
    statuses.push({
      requestId: String(id),
      status: s!.status as LighthouseStatus['status'],
      startTime: typeof time.startTime === 'number' ? time.startTime : null,
      endTime: typeof time.endTime === 'number' ? time.endTime : null,
      steps: steps.map((st) => ({
        name: typeof st?.name === 'string' ? st.name : '',
        status: typeof st?.status === 'string' ? st.status : '',
      })),
      error: error
        ? {
            detail: typeof error.detail === 'string' ? error.detail : null,
            step: typeof error.step === 'string' ? error.step : null,
          }
        : null,
    });
  }
  const notFound = Array.isArray(data.requestIdsNotFound)
    ? (data.requestIdsNotFound as unknown[]).map(String)
    : [];
  return { statuses, notFound, malformed };
}
