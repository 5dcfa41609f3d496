import type { DataSource, EntityManager } from 'typeorm';
import type { EventContext, EventHandler } from './event-bus';

/**
 * Records handled message ids in the same transaction as the handler's effect, so a
 * redelivered message (after a lost ack, a reconnect, a relay resend) has no second effect.
 */
export class Inbox {
  constructor(
    private readonly ds: DataSource,
    private readonly consumer: string,
  ) {}

  handleOnce(
    messageId: string,
    eventName: string,
    fn: (manager: EntityManager) => Promise<void>,
  ): Promise<'handled' | 'duplicate'> {
    return this.ds.transaction(async (m) => {
      const inserted = await m.query<unknown[]>(
        `INSERT INTO inbox (consumer, message_id, event_name) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING RETURNING 1`,
        [this.consumer, messageId, eventName],
      );
      if (inserted.length === 0) return 'duplicate';
      await fn(m);
      return 'handled';
    });
  }

  /** Wraps a handler whose effects go through `manager` so they happen once per event id. */
  idempotent<P>(
    handler: (payload: P, manager: EntityManager, ctx: EventContext) => Promise<void>,
  ): EventHandler<P> {
    return async (payload, ctx) => {
      await this.handleOnce(ctx.envelope.id, ctx.envelope.name, (m) => handler(payload, m, ctx));
    };
  }
}
