import { isUuid } from '@app/contracts';
import type { EntityManager } from 'typeorm';
import { rpcError } from '@app/messaging';

/** A 404 for ids that are malformed, unknown or someone else's alike. */
export function assertId(id: unknown, what: string): asserts id is string {
  if (!isUuid(id)) throw notFound(what);
}

export const notFound = (what: string) => rpcError('not_found', `${what} not found`);

/** Callers are users of this service from their first request on. */
export async function ensureUser(m: EntityManager, userId: string): Promise<void> {
  await m.query(`INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [userId]);
}

/** A timestamp as ISO text; rows give Dates, jsonb gives strings. */
export const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);
