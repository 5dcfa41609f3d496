import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { Provider } from '@app/contracts';
import type { Owner } from '../common';

export interface AccountRow {
  id: string;
  user_id: string;
  tenant_id: string;
  provider: Provider;
  email: string | null;
  scopes: string[];
  access_token: Buffer | null;
  refresh_token: Buffer | null;
  expires_at: Date | null;
  disconnected_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** What a caller may see of an account (never its sealed tokens). */
export const VIEW_COLUMNS = `id, user_id, provider, email, scopes, expires_at, disconnected_at, created_at, updated_at,
  access_token IS NOT NULL AS has_access`;

/**
 * The SQL of connected accounts. Tokens arrive and leave sealed; a refresh holds the row's
 * lock so that replicas refresh one at a time.
 */
@Injectable()
export class AccountsRepository {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(fn);
  }

  /** The tenant's connected account for this mailbox, locked; its id, or null. */
  async lockConnected(
    m: EntityManager,
    tenantId: string,
    provider: Provider,
    email: string,
  ): Promise<string | null> {
    const [existing] = await m.query<Array<{ id: string }>>(
      `SELECT id FROM integration_accounts
        WHERE tenant_id = $1 AND provider = $2 AND lower(email) = lower($3) AND disconnected_at IS NULL
        ORDER BY created_at LIMIT 1 FOR UPDATE`,
      [tenantId, provider, email],
    );
    return existing?.id ?? null;
  }

  /** Stores a grant: a new account, or new tokens for the one that exists. */
  async upsert(
    m: EntityManager,
    owner: Owner,
    a: {
      id: string;
      provider: Provider;
      email: string;
      scopes: string[];
      access: Buffer;
      refresh: Buffer | null;
      expiresAt: Date;
    },
  ): Promise<AccountRow> {
    const [row] = await m.query<AccountRow[]>(
      `INSERT INTO integration_accounts (id, user_id, provider, email, scopes, access_token, refresh_token, expires_at, tenant_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (id) DO UPDATE SET scopes = EXCLUDED.scopes, access_token = EXCLUDED.access_token,
         refresh_token = coalesce(EXCLUDED.refresh_token, integration_accounts.refresh_token),
         expires_at = EXCLUDED.expires_at, updated_at = now()
       RETURNING ${VIEW_COLUMNS}`,
      [
        a.id,
        owner.userId,
        a.provider,
        a.email,
        a.scopes,
        a.access,
        a.refresh,
        a.expiresAt,
        owner.tenantId,
      ],
    );
    return row;
  }

  list(scope: string | null): Promise<AccountRow[]> {
    return this.ds.query<AccountRow[]>(
      `SELECT ${VIEW_COLUMNS} FROM integration_accounts WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY created_at, id`,
      [scope],
    );
  }

  async one(id: string, scope: string | null): Promise<AccountRow | undefined> {
    const [row] = await this.ds.query<AccountRow[]>(
      `SELECT ${VIEW_COLUMNS} FROM integration_accounts WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      [id, scope],
    );
    return row;
  }

  /** The account's row, tokens included, locked (the tenant's only, when one is named). */
  async lock(m: EntityManager, id: string, tenantId?: string): Promise<AccountRow | undefined> {
    const [row] = await m.query<AccountRow[]>(
      `SELECT * FROM integration_accounts WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2) FOR UPDATE`,
      [id, tenantId ?? null],
    );
    return row;
  }

  /** Tokens erased, its automations off, marked disconnected. */
  async disconnect(m: EntityManager, id: string): Promise<AccountRow> {
    await m.query(
      `UPDATE automations SET is_enabled = false, updated_at = now() WHERE integration_account_id = $1`,
      [id],
    );
    const [[out]] = await m.query<[AccountRow[], number]>(
      `UPDATE integration_accounts SET access_token = NULL, refresh_token = NULL, expires_at = NULL,
              disconnected_at = coalesce(disconnected_at, now()), watch_expires_at = NULL, updated_at = now()
        WHERE id = $1 RETURNING ${VIEW_COLUMNS}`,
      [id],
    );
    return out;
  }

  async token(
    id: string,
  ): Promise<
    Pick<AccountRow, 'id' | 'access_token' | 'expires_at' | 'disconnected_at'> | undefined
  > {
    const [row] = await this.ds.query<AccountRow[]>(
      `SELECT id, access_token, expires_at, disconnected_at FROM integration_accounts WHERE id = $1`,
      [id],
    );
    return row;
  }

  async storeTokens(
    m: EntityManager,
    id: string,
    t: { access: Buffer; expiresAt: Date; refresh: Buffer | null },
  ): Promise<void> {
    await m.query(
      `UPDATE integration_accounts SET access_token = $2, expires_at = $3,
              refresh_token = coalesce($4, refresh_token), updated_at = now() WHERE id = $1`,
      [id, t.access, t.expiresAt, t.refresh],
    );
  }
}
