import type { Logger } from 'pino';
import { type Caller, hashApiKey } from './api-keys';
import type { ApiKeysRepository } from './api-keys.repository';

interface Cached {
  /** The key's caller, or null for a hash no key has. */
  caller: (Caller & { id: string }) | null;
  /** When the key itself stops working (ms since epoch), checked on every use. */
  expiresAt: number | null;
  /** When this entry must be read again from the database. */
  freshUntil: number;
}

export interface ManagedKeysOptions {
  /** How long a look-up is believed: a revocation takes effect within this on every replica. */
  ttlMs: number;
  /** How often the keys used meanwhile get their last_used_at, in one statement. */
  flushMs: number;
  /** Entries kept at most (the oldest go first). */
  maxEntries?: number;
}

/**
 * Managed keys, looked up by hash in the gateway's schema and cached for a short TTL (a
 * hash no key has is cached too, so a flood of bad keys does not reach the database). A
 * key's expiry is checked on every request, so it ends on time whatever the cache holds.
 */
export class ManagedKeys {
  private readonly cache = new Map<string, Cached>();
  private readonly used = new Set<string>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly opts: ManagedKeysOptions,
    private readonly logger?: Pick<Logger, 'warn'>,
  ) {
    this.timer = setInterval(() => void this.flush(), opts.flushMs);
    this.timer.unref();
  }

  /** The key's caller, or null; throws when the database cannot answer (a 503, not a 401). */
  async verify(presented: string, now = Date.now()): Promise<Caller | null> {
    if (!presented || presented.length > 512) return null;
    const hash = hashApiKey(presented);
    let entry = this.cache.get(hash);
    if (!entry || entry.freshUntil <= now) {
      const row = await this.repo.byHash(hash);
      entry = {
        caller:
          row && !row.revoked_at
            ? {
                id: row.id,
                keyId: row.id,
                callerId: row.caller_id,
                tenantId: row.tenant_id,
                scopes: row.scopes,
              }
            : null,
        expiresAt: row?.expires_at?.getTime() ?? null,
        freshUntil: now + this.opts.ttlMs,
      };
      this.remember(hash, entry);
    }
    if (!entry.caller || (entry.expiresAt !== null && entry.expiresAt <= now)) return null;
    const { id, ...caller } = entry.caller;
    this.used.add(id);
    return caller;
  }

  /** Forgets every cached look-up (this replica sees a change at once). */
  invalidate(): void {
    this.cache.clear();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private remember(hash: string, entry: Cached): void {
    this.cache.delete(hash);
    this.cache.set(hash, entry);
    const max = this.opts.maxEntries ?? 10_000;
    if (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
  }

  private async flush(): Promise<void> {
    if (this.used.size === 0) return;
    const ids = [...this.used];
    this.used.clear();
    try {
      await this.repo.touch(ids);
    } catch (err) {
      // Last use is a record, not a control: a failed write is retried with the next batch.
      ids.forEach((id) => this.used.add(id));
      this.logger?.warn({ err: (err as Error).message }, 'could not record API key use');
    }
  }
}
