import { DEFAULT_TENANT } from '@app/contracts';
import type { QueryRunner } from 'typeorm';

const IDENT = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Gives a table its tenant: `tenant_id text NOT NULL`, rows from before tenants belonging to
 * the tenant of keys that name none, and no default afterwards (every write names its
 * tenant). `index` is the index's columns after `tenant_id`, if one is wanted.
 */
export async function addTenantColumn(
  q: QueryRunner,
  table: string,
  index?: { name: string; columns: string },
): Promise<void> {
  if (!IDENT.test(table)) throw new Error(`table "${table}" is not a plain identifier`);
  await q.query(
    `ALTER TABLE ${table} ADD COLUMN tenant_id text NOT NULL DEFAULT '${DEFAULT_TENANT}'`,
  );
  await q.query(`ALTER TABLE ${table} ALTER COLUMN tenant_id DROP DEFAULT`);
  if (index) await q.query(`CREATE INDEX ${index.name} ON ${table} (tenant_id, ${index.columns})`);
}

/** The reverse of addTenantColumn (its index goes with the column). */
export async function dropTenantColumn(q: QueryRunner, table: string): Promise<void> {
  if (!IDENT.test(table)) throw new Error(`table "${table}" is not a plain identifier`);
  await q.query(`ALTER TABLE ${table} DROP COLUMN tenant_id`);
}
