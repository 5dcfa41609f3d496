import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { UploadStatusConfig } from '../config';
import type { LighthouseStatus } from '../uploads/state-machine';

export interface BulkStatus {
  statuses: LighthouseStatus[];
  notFound: string[];
}

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
 */
@Injectable()
export class LighthouseClient {
  private token?: { value: string; expiresAt: number };
  private pendingToken?: Promise<string>;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: UploadStatusConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** One bulk call, retried on timeouts, 5xx and 429 (after `Retry-After`) up to the limit. */
  async statuses(requestIds: string[], onError?: (code: string) => void): Promise<BulkStatus> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callOnce(requestIds);
      } catch (err) {
        const e =
          err instanceof LighthouseError
            ? err
            : new LighthouseError('network', (err as Error).message, true);
        onError?.(e.code);
        if (!e.retryable || attempt >= this.config.LIGHTHOUSE_MAX_ATTEMPTS) throw e;
        const wait = e.retryAfterMs ?? this.config.LIGHTHOUSE_BACKOFF_MS * 2 ** (attempt - 1);
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
          // Lighthouse takes int64 request ids.
          body: JSON.stringify({ data: { requestIds: requestIds.map(Number) } }),
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
      const after = Number(res.headers.get('retry-after'));
      await res.body?.cancel();
      throw new LighthouseError(
        '429',
        'rate limited',
        true,
        Number.isFinite(after) && after >= 0 ? Math.min(after, 120) * 1000 : undefined,
      );
    }
    if (res.status === 404) {
      // Lighthouse answers 404 when it knows none of the ids.
      await res.body?.cancel();
      return { statuses: [], notFound: requestIds };
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
      body = await res.json();
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

  private async fetchToken(): Promise<string> {
    let res: Response;
    try {
      res = await fetch(`${this.config.LIGHTHOUSE_URL}/oauth2/benefits-documents/system/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: this.config.LIGHTHOUSE_CLIENT_ID,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: this.config.LIGHTHOUSE_CLIENT_ASSERTION,
          scope: 'documents.read',
        }),
        signal: AbortSignal.timeout(this.config.LIGHTHOUSE_TIMEOUT_MS),
      });
    } catch (err) {
      throw new LighthouseError('token', (err as Error).message, true);
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new LighthouseError(
        'token',
        `token endpoint answered ${res.status}`,
        res.status >= 500 || res.status === 429,
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

/** Validates the bulk answer; ids are normalised to strings (they go out as numbers). */
export function parseBulk(body: unknown): BulkStatus {
  const data = (body as { data?: { statuses?: unknown; requestIdsNotFound?: unknown } })?.data;
  if (!data || !Array.isArray(data.statuses))
    throw new LighthouseError('malformed', 'answer has no data.statuses', false);
  const statuses = (data.statuses as Array<Record<string, unknown>>).map((s) => {
    const id = s?.requestId;
    if ((typeof id !== 'number' && typeof id !== 'string') || !STATUSES.has(String(s.status))) {
      throw new LighthouseError(
        'malformed',
        `a status entry is malformed: ${JSON.stringify(s).slice(0, 200)}`,
        false,
      );
    }
    const time = (s.time ?? {}) as { startTime?: unknown; endTime?: unknown };
    const steps = Array.isArray(s.steps)
      ? (s.steps as Array<{ name?: unknown; status?: unknown }>)
      : [];
    const error = s.error as { detail?: unknown; step?: unknown } | null | undefined;
    return {
      requestId: String(id),
      status: s.status as LighthouseStatus['status'],
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
    };
  });
  const notFound = Array.isArray(data.requestIdsNotFound)
    ? (data.requestIdsNotFound as unknown[]).map(String)
    : [];
  return { statuses, notFound };
}
