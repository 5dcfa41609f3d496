import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every workflow belongs to the tenant of the key that created it; creators' reads, lists,
 * changes, stats and downloads are limited to it (recipients still act by their links).
 * Rows from before tenancy belong to the tenant of keys that name none.
 */
export class Tenants1765100000000 implements MigrationInterface {
  name = 'Tenants1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE workflow_sessions ADD COLUMN tenant_id text NOT NULL DEFAULT 'default'`,
    );
    await q.query(`ALTER TABLE workflow_sessions ALTER COLUMN tenant_id DROP DEFAULT`);
    await q.query(
      `CREATE INDEX workflow_sessions_tenant_idx ON workflow_sessions (tenant_id, created_at DESC, id DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS workflow_sessions_tenant_idx`);
    await q.query(`ALTER TABLE workflow_sessions DROP COLUMN tenant_id`);
  }
}
