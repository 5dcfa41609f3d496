import type { EntityManager } from 'typeorm';
import { rpcError } from '@app/messaging';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A 404 for ids that are malformed, unknown or someone else's alike. */
export function assertId(id: unknown, what: string): asserts id is string {
  if (typeof id !== 'string' || !UUID.test(id)) throw notFound(what);
}

export const notFound = (what: string) => rpcError('not_found', `${what} not found`);

/** Callers are users of this service from their first request on. */
export async function ensureUser(m: EntityManager, userId: string): Promise<void> {
  await m.query(`INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [userId]);
}

export const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
