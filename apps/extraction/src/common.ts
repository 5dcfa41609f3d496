import { type Actor, isUuid, readScope } from '@app/contracts';
import type { EntityManager } from 'typeorm';
import { assertActor, rpcError } from '@app/messaging';

/** A 404 for ids that are malformed, unknown or someone else's alike. */
export function assertId(id: unknown, what: string): asserts id is string {
  if (!isUuid(id)) throw notFound(what);
}

export const notFound = (what: string) => rpcError('not_found', `${what} not found`);

/**
 * Who owns what: a tenant's jobs, templates, accounts and automations are its own (every
 * check is by tenant); `userId` names the caller within it that made a row.
 */
export interface Owner {
  /** The tenant-qualified caller, recorded as the row's user. */
  userId: string;
  /** The tenant rows are written for. */
  tenantId: string;
  /** The tenant reads are limited to (null: any, for an operator's read). */
  scope: string | null;
}

export function ownerOf(actor: Actor): Owner {
  assertActor(actor);
  return {
    userId: `${actor.tenantId}/${actor.callerId}`,
    tenantId: actor.tenantId,
    scope: readScope(actor),
  };
}

/** The owner of a stored row (an automation acting on its own): its tenant, nothing wider. */
export function ownerOfRow(r: { user_id: string; tenant_id: string }): Owner {
  return { userId: r.user_id, tenantId: r.tenant_id, scope: r.tenant_id };
}

/** Callers are users of this service from their first request on. */
export async function ensureUser(m: EntityManager, userId: string): Promise<void> {
  await m.query(`INSERT INTO users (id) VALUES ($1) ON CONFLICT (id) DO NOTHING`, [userId]);
}

/** A timestamp as ISO text; rows give Dates, jsonb gives strings. */
export const iso = (d: Date | string | null | undefined) => (d ? new Date(d).toISOString() : null);
