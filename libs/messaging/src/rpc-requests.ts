import { AsyncLocalStorage } from 'node:async_hooks';
import type { Logger } from 'pino';
import type { RpcErrorBody } from '@app/contracts';
import {
  type DataSource,
  type EntitySubscriberInterface,
  EventSubscriber,
  type TransactionCommitEvent,
  type TransactionRollbackEvent,
} from 'typeorm';

/** RPC headers: which request this is (repeats share it), and until when anyone waits. */
export const REQUEST_ID_HEADER = 'x-request-id';
export const DEADLINE_HEADER = 'x-deadline';
/** What the caller asked (method, path, body hashed): a repeat must ask the same. */
export const FINGERPRINT_HEADER = 'x-request-fingerprint';

/**
 * Verbs of patterns that change nothing. Every other RPC is a write: it is recorded by its
 * request id, and a repeat gets the first answer without a second effect.
 */
const READ_VERBS = new Set([
  'get',
  'list',
  'stats',
  'audit',
  'document',
  'download',
  'results',
  'history',
  'runs',
  'content',
  'plan',
  'document-status',
  'authorize',
  'open',
]);

export function isWritePattern(pattern: string): boolean {
  const verb = pattern.split('.')[2];
  return verb !== undefined && !READ_VERBS.has(verb);
}

/** The write an RPC handler is running, visible to its transactions. */
export interface RpcWrite {
  requestId: string;
  pattern: string;
  fingerprint: string | null;
  /** Epoch ms; after it nobody waits for the answer. */
  deadline: number | null;
  /** Whether a committed transaction already holds this request's record. */
  recorded: boolean;
  pending: boolean;
}

export const rpcWrites = new AsyncLocalStorage<RpcWrite>();

/** Nobody waits for this write any more: its transaction was rolled back, nothing answered. */
export class DeadlinePassedError extends Error {
  constructor(readonly pattern: string) {
    super(`${pattern}: the caller's deadline passed before commit; rolled back`);
    this.name = 'DeadlinePassedError';
  }
}

/**
 * Joins every write handler's first transaction: just before it commits, the deadline is
 * checked (past it, the transaction rolls back) and the request id is inserted in the same
 * transaction. A second delivery of the same request meets the primary key: it waits for
 * the first to commit, then fails and rolls back, so the effect happens once however often
 * the broker redelivers and however many replicas take it.
 */
@EventSubscriber()
export class RpcRequestSubscriber implements EntitySubscriberInterface {
  async beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    const w = rpcWrites.getStore();
    if (!w || w.recorded) return;
    await event.queryRunner.query(
      `INSERT INTO rpc_requests (request_id, pattern, fingerprint) VALUES ($1, $2, $3)`,
      [w.requestId, w.pattern, w.fingerprint],
    );
    // Last thing before COMMIT: past the deadline, nobody will read the answer.
    if (w.deadline !== null && Date.now() > w.deadline) throw new DeadlinePassedError(w.pattern);
    w.pending = true;
  }

  afterTransactionCommit(): void {
    const w = rpcWrites.getStore();
    if (w?.pending) {
      w.recorded = true;
      w.pending = false;
    }
  }

  afterTransactionRollback(_event: TransactionRollbackEvent): void {
    const w = rpcWrites.getStore();
    if (w) w.pending = false;
  }
}

export type StoredAnswer =
  | { state: 'answered'; response: unknown; fingerprint: string | null }
  | { state: 'pending' }
  | { state: 'none' };

/** Whether an error is the primary key of rpc_requests: the same request, handled already. */
export function isRepeatedRequest(err: unknown): boolean {
  const e = err as { driverError?: { code?: string; constraint?: string }; code?: string };
  const d = e?.driverError ?? e;
  return d?.code === '23505' && (d as { constraint?: string }).constraint === 'rpc_requests_pkey';
}

/** The service's own record of the writes it handled and what it answered. */
export class RpcRequestLog {
  constructor(private readonly ds: DataSource) {}

  async find(requestId: string): Promise<StoredAnswer> {
    const rows = await this.ds.query<
      Array<{ response: unknown; answered: boolean; fingerprint: string | null }>
    >(
      `SELECT response, answered_at IS NOT NULL AS answered, fingerprint FROM rpc_requests WHERE request_id = $1`,
      [requestId],
    );
    const r = rows[0];
    if (!r) return { state: 'none' };
    return r.answered
      ? { state: 'answered', response: r.response, fingerprint: r.fingerprint }
      : { state: 'pending' };
  }

  /** Stores the answer of a handled write (its record was committed with the effect, or not at all). */
  async answer(w: RpcWrite, answer: Answer): Promise<void> {
    const json = JSON.stringify(answer);
    await this.ds.query(
      `INSERT INTO rpc_requests (request_id, pattern, fingerprint, response, answered_at)
       VALUES ($1, $2, $3, $4::jsonb, now())
       ON CONFLICT (request_id) DO UPDATE SET response = EXCLUDED.response, answered_at = now()
        WHERE rpc_requests.answered_at IS NULL`,
      [w.requestId, w.pattern, w.fingerprint, json],
    );
  }

  /** Waits (until `deadline`) for the answer of a request another delivery is handling. */
  async waitForAnswer(requestId: string, deadline: number): Promise<StoredAnswer> {
    for (;;) {
      const found = await this.find(requestId);
      if (found.state === 'answered' || Date.now() >= deadline) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Forgets requests older than the retention (a repeat after that is a new request). */
  async purge(retentionHours: number): Promise<number> {
    const [, n] = await this.ds.query<[unknown[], number]>(
      `DELETE FROM rpc_requests WHERE created_at < now() - make_interval(hours => $1)`,
      [retentionHours],
    );
    return n;
  }
}

/** What a handler answered: its value or its typed error. */
export type Answer = { response?: unknown; err?: RpcErrorBody };

/**
 * One effect per write request. A repeat (a redelivery after a broker drop, a caller's retry
 * with the same Idempotency-Key, a concurrent duplicate on another replica) gets the first
 * answer; one whose fingerprint differs is refused; a write whose caller's deadline passed
 * before commit answers nothing (null).
 */
/**
 * How a pattern's answer is kept when it holds a secret the service must not store (a
 * recipient's link): `store` takes the secret out, `replay` puts it back (recomputed).
 */
export interface AnswerCodec {
  store(response: unknown): unknown;
  replay(stored: unknown): unknown;
}
export type AnswerCodecs = Partial<Record<string, AnswerCodec>>;

export class WriteOnce {
  constructor(
    private readonly log: RpcRequestLog,
    private readonly logger: Pick<Logger, 'warn'>,
    private readonly codecs: AnswerCodecs = {},
  ) {}

  async once(w: RpcWrite, run: () => Promise<Answer>): Promise<Answer | null> {
    const until = w.deadline ?? Date.now() + 30_000;
    const seen = await this.log.find(w.requestId);
    if (seen.state !== 'none')
      return this.replay(w, await this.log.waitForAnswer(w.requestId, until));
    const answer = await rpcWrites.run(w, run);
    const err = answer.err;
    if (err?.details?.[REPEATED] === true)
      return this.replay(w, await this.log.waitForAnswer(w.requestId, until));
    if (err?.details?.[DEADLINE_PASSED] === true) return null;
    // A success, or an error after the effect committed: a repeat gets the same answer.
    // An error before any commit stores nothing: nothing happened, a repeat may succeed.
    if (!err || w.recorded) {
      const codec = this.codecs[w.pattern];
      const kept = codec && !err ? { response: codec.store(answer.response) } : answer;
      await this.log
        .answer(w, kept)
        .catch((e: unknown) =>
          this.logger.warn(
            { err: (e as Error).message, pattern: w.pattern },
            'answer not recorded',
          ),
        );
    }
    return answer;
  }

  private replay(w: RpcWrite, found: StoredAnswer): Answer {
    if (found.state !== 'answered')
      return {
        err: {
          code: 'conflict',
          status: 409,
          message: 'this request is being handled already; ask again shortly',
        },
      };
    if ((found.fingerprint ?? null) !== (w.fingerprint ?? null))
      return {
        err: {
          code: 'unprocessable',
          status: 422,
          message: 'this Idempotency-Key was used for a different request',
        },
      };
    const stored = found.response as Answer;
    const codec = this.codecs[w.pattern];
    return codec && !stored.err ? { response: codec.replay(stored.response) } : stored;
  }
}

/** Markers the exception filter puts on the two errors WriteOnce handles itself. */
export const REPEATED = 'repeatedRequest';
export const DEADLINE_PASSED = 'deadlinePassed';
