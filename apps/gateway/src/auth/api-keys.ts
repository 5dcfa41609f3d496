import { createHash, randomBytes } from 'node:crypto';
import { DEFAULT_TENANT } from '@app/contracts';
import type { ApiKeyEntry } from '../config';

export interface Caller {
  /** The key's own id (audit, rate limits). */
  keyId: string;
  /** The calling system: the same for each of its keys while they rotate. */
  callerId: string;
  scopes: string[];
  /** The tenant (client system) the key belongs to; every service limits it to that. */
  tenantId: string;
}

/** Reads across tenants (audited). Never implied by `*`: an operator key names it. */
export const ADMIN_SCOPE = 'platform:admin';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function generateApiKey(): string {
  return `pk_${randomBytes(32).toString('base64url')}`;
}

/**
 * API keys held only as SHA-256 hashes. Keys are 256-bit random values, so a plain hash is
 * enough (no slow KDF needed), and lookup by hash means no comparison leaks the key.
 */
export class ApiKeyStore {
  private readonly byHash = new Map<string, Caller>();

  constructor(entries: ApiKeyEntry[], devKey?: string) {
    for (const e of entries)
      this.byHash.set(e.sha256, {
        keyId: e.id,
        callerId: e.id,
        scopes: e.scopes,
        tenantId: e.tenant ?? DEFAULT_TENANT,
      });
    if (devKey)
      this.byHash.set(hashApiKey(devKey), {
        keyId: 'dev',
        callerId: 'dev',
        scopes: ['*'],
        tenantId: DEFAULT_TENANT,
      });
  }

  get size(): number {
    return this.byHash.size;
  }

  verify(presented: string | undefined): Caller | null {
    if (!presented || presented.length > 512) return null;
    return this.byHash.get(hashApiKey(presented)) ?? null;
  }
}

export function hasScope(caller: Pick<Caller, 'scopes'>, required: string): boolean {
  return (
    caller.scopes.includes(required) || (required !== ADMIN_SCOPE && caller.scopes.includes('*'))
  );
}
