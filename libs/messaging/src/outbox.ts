import { Client } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { Logger } from 'pino';
import { randomUUID } from 'node:crypto';
import type { PlatformEvents } from '@app/contracts';
import {
  currentCorrelationId,
  extractTrace,
  inSpan,
  type MessagingMetrics,
  SpanKind,
  traceHeaders,
} from '@app/observability';
import type { OutgoingEvent } from './event-bus';

export function outboxChannel(schema: string): string {
  return `outbox_${schema}`;
}

/**
 * Writes events in the caller's transaction. Typed by an event map, so a name can only be
 * written with its own payload type. The NOTIFY is delivered on commit only, which wakes
 * the relay exactly when there is something committed to send.
 */
export class Outbox<E extends object = PlatformEvents> {
  constructor(private readonly schema: string) {}

  async add<N extends keyof E & string>(
    manager: EntityManager,
    name: N,
    payload: E[N],
  ): Promise<string> {
    const id = randomUUID();
    await manager.query(
      `INSERT INTO outbox (id, event_name, payload, headers) VALUES ($1, $2, $3::jsonb, $4::jsonb)`,
      [
        id,
        name,
        JSON.stringify(payload),
        // The trace goes with the event: the relay publishes it later, in another context.
        JSON.stringify({ correlationId: currentCorrelationId(), ...traceHeaders() }),
      ],
    );
    await manager.query('SELECT pg_notify($1, $2)', [outboxChannel(this.schema), id]);
    return id;
  }

  /** Writes many events with one statement (for batch work: no statement per event). */
  async addMany<N extends keyof E & string>(
    manager: EntityManager,
    events: Array<{ name: N; payload: E[N] }>,
  ): Promise<string[]> {
    if (events.length === 0) return [];
    const rows = events.map((e) => ({ id: randomUUID(), name: e.name, payload: e.payload }));
    await manager.query(
      `WITH ins AS (
         INSERT INTO outbox (id, event_name, payload, headers)
         SELECT e.id, e.name, e.payload, $2::jsonb FROM jsonb_to_recordset($1::jsonb) AS e(id uuid, name text, payload jsonb)
         RETURNING 1)
       SELECT pg_notify($3, count(*)::text) FROM ins`,
      [
        JSON.stringify(rows),
        JSON.stringify({ correlationId: currentCorrelationId(), ...traceHeaders() }),
        outboxChannel(this.schema),
      ],
    );
    return rows.map((r) => r.id);
  }
}

export interface OutboxRelayOptions {
  schema: string;
  /** Connection string for the LISTEN connection. */
  databaseUrl: string;
  pollMs: number;
  batchSize?: number;
  logger: Logger;
  metrics?: MessagingMetrics;
}

interface OutboxRow {
  id: string;
  event_name: string;
  payload: unknown;
  headers: { correlationId?: string; traceparent?: string; tracestate?: string } | null;
  created_at: Date;
}

/**
 * Relays committed outbox rows to the broker with publisher confirms, marking a row sent
 * only after its confirm. Rows are claimed with SKIP LOCKED, so replicas share the work.
 * A crash between confirm and commit sends the event again; consumers de-duplicate by state.
 */
export class OutboxRelay {
  private timer?: NodeJS.Timeout;
  private listener?: Client;
  private running = false;
  private again = false;
  private stopped = true;
  private failures = 0;
  private notBefore = 0;
  private idle?: Promise<void>;
  private readonly batchSize: number;

  constructor(
    private readonly ds: DataSource,
    private readonly publish: (e: OutgoingEvent) => Promise<void>,
    private readonly opts: OutboxRelayOptions,
  ) {
    this.batchSize = opts.batchSize ?? 100;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), this.opts.pollMs);
    void this.listen();
    this.kick();
  }

  /**
   * Asks for a drain soon; concurrent asks coalesce into one more pass. The back-off after a
   * failure holds back polls, not news: a commit's NOTIFY (or the listener reconnecting, which
   * means the database is back) drains at once.
   */
  kick(urgent = false): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (!urgent && Date.now() < this.notBefore) return;
    this.idle = this.drain();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
    await this.idle;
  }

  /** Relays everything pending now; for tests and the drain loop. */
  async drain(): Promise<void> {
    this.running = true;
    try {
      do {
        this.again = false;
        let result: { sent: number; failed: number };
        do {
          result = await this.relayBatch();
          if (result.failed > 0) throw new Error(`${result.failed} events were not confirmed`);
        } while (result.sent === this.batchSize && !this.stopped);
      } while (this.again && !this.stopped);
      this.failures = 0;
      this.notBefore = 0;
    } catch (err) {
      this.failures++;
      const wait = Math.min(30000, 250 * 2 ** Math.min(this.failures, 7));
      this.notBefore = Date.now() + wait;
      this.opts.logger.warn(
        { err: (err as Error).message, retryInMs: wait },
        'outbox relay will retry',
      );
      setTimeout(() => this.kick(), wait).unref();
    } finally {
      this.running = false;
    }
  }

  private relayBatch(): Promise<{ sent: number; failed: number }> {
    return this.ds.transaction(async (m) => {
      const rows = await m.query<OutboxRow[]>(
        `SELECT id, event_name, payload, headers, created_at FROM outbox
          WHERE published_at IS NULL ORDER BY created_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
        [this.batchSize],
      );
      if (rows.length === 0) return { sent: 0, failed: 0 };
      const results = await Promise.allSettled(
        rows.map((r) =>
          // A PRODUCER span in the trace of the request that wrote the event.
          inSpan(
            `${r.event_name} publish`,
            {
              kind: SpanKind.PRODUCER,
              parent: extractTrace(r.headers ?? undefined),
              attributes: { 'messaging.system': 'rabbitmq', 'messaging.message.id': r.id },
            },
            () =>
              this.publish({
                id: r.id,
                name: r.event_name,
                payload: r.payload,
                occurredAt: r.created_at.toISOString(),
                correlationId: r.headers?.correlationId,
                trace: traceHeaders(),
              }),
          ),
        ),
      );
      const sent: string[] = [];
      const failed: string[] = [];
      let lastError = '';
      results.forEach((res, i) => {
        if (res.status === 'fulfilled') sent.push(rows[i].id);
        else {
          failed.push(rows[i].id);
          lastError = String((res.reason as Error)?.message ?? res.reason);
        }
      });
      if (sent.length) {
        await m.query(
          `UPDATE outbox SET published_at = now(), attempts = attempts + 1 WHERE id = ANY($1::uuid[])`,
          [sent],
        );
        for (const r of rows)
          if (sent.includes(r.id)) this.opts.metrics?.outboxPublished.inc({ event: r.event_name });
      }
      if (failed.length) {
        await m.query(
          `UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::uuid[])`,
          [failed, lastError.slice(0, 1000)],
        );
      }
      return { sent: sent.length, failed: failed.length };
    });
  }

  /** LISTEN for commits; on loss of the connection, reconnect later and rely on polling meanwhile. */
  private async listen(): Promise<void> {
    if (this.stopped) return;
    const client = new Client({
      connectionString: this.opts.databaseUrl,
      connectionTimeoutMillis: 5000,
    });
    const retry = () => {
      if (this.listener === client) this.listener = undefined;
      client.end().catch(() => undefined);
      if (!this.stopped) setTimeout(() => void this.listen(), 2000).unref();
    };
    client.on('error', retry);
    try {
      await client.connect();
      await client.query(`LISTEN "${outboxChannel(this.opts.schema)}"`);
      client.on('notification', () => this.kick(true));
      this.listener = client;
      // Connected again: whatever was written meanwhile is relayed now, not after the back-off.
      this.kick(true);
      if (this.stopped) await client.end();
    } catch {
      retry();
    }
  }
}
