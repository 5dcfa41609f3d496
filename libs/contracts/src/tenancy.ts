/**
 * Who a request acts for. Every API key belongs to a tenant (a client system); the gateway
 * puts the key's tenant on every RPC it sends and each service limits its queries to it.
 */
export interface Actor {
  /** The tenant whose data this request may see and change. */
  tenantId: string;
  /**
   * The calling system within the tenant: stable while its keys rotate, so what it owns
   * (pdf-workflow's creator, extraction's user) stays its own.
   */
  callerId: string;
  /** The API key's own id, for audit. */
  keyId: string;
  /**
   * An operator's read across every tenant (a `platform:admin` key on a read route); the
   * gateway audits each such request. Writes are always within `tenantId`.
   */
  allTenants?: boolean;
}

/** Tenant ids as keys carry them: short, plain, case-sensitive. */
export const TENANT_ID_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/** The tenant of keys from configuration that name none. */
export const DEFAULT_TENANT = 'default';

export function isActor(v: unknown): v is Actor {
  const a = v as Partial<Actor> | null;
  return (
    typeof a === 'object' &&
    a !== null &&
    typeof a.tenantId === 'string' &&
    TENANT_ID_PATTERN.test(a.tenantId) &&
    typeof a.callerId === 'string' &&
    a.callerId.length > 0 &&
    typeof a.keyId === 'string' &&
    (a.allTenants === undefined || typeof a.allTenants === 'boolean')
  );
}

/** The tenant a read is limited to: null only for an operator reading across tenants. */
export function readScope(actor: Actor): string | null {
  return actor.allTenants ? null : actor.tenantId;
}
