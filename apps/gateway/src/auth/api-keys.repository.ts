import { randomUUID } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { generateApiKey, hashApiKey } from './api-keys';

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  caller_id: string;
  prefix: string;
  scopes: string[];
  created_at: Date;
  created_by: string;
  expires_at: Date | null;
  last_used_at: Date | null;
  revoked_at: Date | null;
  replaces: string | null;
}

/** A new or rotated key: the key itself, shown this once, with its record. */
export type IssuedApiKey = ApiKeyView & { key: string };

/** A rotation's answer: the new key, and the record of the one it replaces. */
export type RotatedApiKey = IssuedApiKey & { replaced: ApiKeyView };

/** The admin list envelope of keys. */
export interface ApiKeyPage {
  data: ApiKeyView[];
}

/** One operator read across tenants, as the audit lists it. */
export interface CrossTenantReadView {
  id: string;
  at: string;
  keyId: string;
  callerId: string;
  tenantId: string;
  method: string;
  path: string;
  correlationId: string | null;
}

export interface CrossTenantReadPage {
  data: CrossTenantReadView[];
}

export interface ApiKeyView {
  id: string;
  tenantId: string;
  callerId: string;
  /** The key's first characters, to recognise it by; the key itself is never stored. */
  prefix: string;
  scopes: string[];
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** The key this one was made to replace (a rotation). */
  replaces: string | null;
  live: boolean;
}

export interface NewKey {
  tenantId: string;
  callerId: string;
  scopes: string[];
  expiresAt: Date | null;
  createdBy: string;
}

/** At most this many live keys per caller: the current one and its replacement. */
export const MAX_LIVE_KEYS = 2;
export const KEY_PREFIX_LENGTH = 11;

export class KeyLimitError extends Error {}
export class KeyNotFoundError extends Error {}

export function apiKeyView(r: ApiKeyRow, now = new Date()): ApiKeyView {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    callerId: r.caller_id,
    prefix: r.prefix,
    scopes: r.scopes,
    createdAt: r.created_at.toISOString(),
    createdBy: r.created_by,
    expiresAt: r.expires_at?.toISOString() ?? null,
    lastUsedAt: r.last_used_at?.toISOString() ?? null,
    revokedAt: r.revoked_at?.toISOString() ?? null,
    replaces: r.replaces,
    live: !r.revoked_at && (!r.expires_at || r.expires_at > now),
  };
}

const COLUMNS = `id, tenant_id, caller_id, prefix, scopes, created_at, created_by, expires_at, last_used_at, revoked_at, replaces`;
const LIVE = `revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`;

/** Managed API keys and the audit of cross-tenant reads, in the gateway's own schema. */
export class ApiKeysRepository {
  constructor(readonly ds: DataSource) {}

  async byHash(sha256Hex: string): Promise<ApiKeyRow | null> {
    const rows = await this.ds.query<ApiKeyRow[]>(
      `SELECT ${COLUMNS} FROM api_keys WHERE sha256 = decode($1, 'hex')`,
      [sha256Hex],
    );
    return rows[0] ?? null;
  }

  /** A new key for a caller (shown once); refused when the caller already has two live keys. */
  create(k: NewKey): Promise<{ key: string; row: ApiKeyRow }> {
    return this.ds.transaction((m) => this.insert(m, k, null));
  }

  /**
   * The change-over: a new key with the old one's tenant, caller and scopes, and the old one
   * expiring after `overlapSeconds` (never later than it would have), so both work meanwhile.
   */
  rotate(
    id: string,
    overlapSeconds: number,
    expiresAt: Date | null,
    createdBy: string,
  ): Promise<{ key: string; row: ApiKeyRow; replaced: ApiKeyRow }> {
    return this.ds.transaction(async (m) => {
      const [old] = await m.query<ApiKeyRow[]>(
        `SELECT ${COLUMNS} FROM api_keys WHERE id = $1 AND ${LIVE} FOR UPDATE`,
        [id],
      );
      if (!old) throw new KeyNotFoundError(`no live API key ${id}`);
      const [[replaced]] = await m.query<[ApiKeyRow[], number]>(
        `UPDATE api_keys SET expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => $2))
          WHERE id = $1 RETURNING ${COLUMNS}`,
        [id, overlapSeconds],
      );
      const made = await this.insert(
        m,
        {
          tenantId: old.tenant_id,
          callerId: old.caller_id,
          scopes: old.scopes,
          expiresAt,
          createdBy,
        },
        old.id,
      );
      return { ...made, replaced };
    });
  }

  async list(f: { tenantId?: string; callerId?: string }): Promise<ApiKeyRow[]> {
    return this.ds.query<ApiKeyRow[]>(
      `SELECT ${COLUMNS} FROM api_keys
        WHERE ($1::text IS NULL OR tenant_id = $1) AND ($2::text IS NULL OR caller_id = $2)
        ORDER BY tenant_id, caller_id, created_at DESC LIMIT 1000`,
      [f.tenantId ?? null, f.callerId ?? null],
    );
  }

  async get(id: string): Promise<ApiKeyRow | null> {
    const rows = await this.ds.query<ApiKeyRow[]>(`SELECT ${COLUMNS} FROM api_keys WHERE id = $1`, [
      id,
    ]);
    return rows[0] ?? null;
  }

  /** Revokes a key (kept, for the record); revoking twice keeps the first time. */
  async revoke(id: string): Promise<ApiKeyRow | null> {
    const [rows] = await this.ds.query<[ApiKeyRow[], number]>(
      `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
      [id],
    );
    return rows[0] ?? null;
  }

  /** Marks keys used, many at once. */
  async touch(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.ds.query(`UPDATE api_keys SET last_used_at = now() WHERE id = ANY($1::uuid[])`, [
      ids,
    ]);
  }

  async recordCrossTenantRead(e: {
    keyId: string;
    callerId: string;
    tenantId: string;
    method: string;
    path: string;
    correlationId?: string;
  }): Promise<void> {
    await this.ds.query(
      `INSERT INTO cross_tenant_reads (key_id, caller_id, tenant_id, method, path, correlation_id)
       VALUES ($1, $2, $3, $4, $5, $6)`,
      [e.keyId, e.callerId, e.tenantId, e.method, e.path, e.correlationId ?? null],
    );
  }

  crossTenantReads(limit: number, before?: string) {
    return this.ds.query<
      Array<{
        id: string;
        at: Date;
        key_id: string;
        caller_id: string;
        tenant_id: string;
        method: string;
        path: string;
        correlation_id: string | null;
      }>
    >(
      `SELECT id::text, at, key_id, caller_id, tenant_id, method, path, correlation_id
         FROM cross_tenant_reads WHERE ($2::bigint IS NULL OR id < $2::bigint)
        ORDER BY id DESC LIMIT $1`,
      [limit, before ?? null],
    );
  }

  private async insert(
    m: EntityManager,
    k: NewKey,
    replaces: string | null,
  ): Promise<{ key: string; row: ApiKeyRow }> {
    // One writer per caller at a time, so two creations cannot both pass the count.
    await m.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [
      `api-keys:${k.tenantId}:${k.callerId}`,
    ]);
    const [{ n }] = await m.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM api_keys WHERE tenant_id = $1 AND caller_id = $2 AND ${LIVE}`,
      [k.tenantId, k.callerId],
    );
    if (n >= MAX_LIVE_KEYS)
      throw new KeyLimitError(
        `caller ${k.callerId} of tenant ${k.tenantId} already has ${n} live keys; revoke one (or let it expire) first`,
      );
    const key = generateApiKey();
    const [row] = await m.query<ApiKeyRow[]>(
      `INSERT INTO api_keys (id, tenant_id, caller_id, prefix, sha256, scopes, expires_at, created_by, replaces)
       VALUES ($1, $2, $3, $4, decode($5, 'hex'), $6, $7, $8, $9) RETURNING ${COLUMNS}`,
      [
        randomUUID(),
        k.tenantId,
        k.callerId,
        key.slice(0, KEY_PREFIX_LENGTH),
        hashApiKey(key),
        k.scopes,
        k.expiresAt,
        k.createdBy,
        replaces,
      ],
    );
    return { key, row };
  }
}
