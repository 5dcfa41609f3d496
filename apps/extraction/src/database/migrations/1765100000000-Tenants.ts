import type { MigrationInterface, QueryRunner } from 'typeorm';

const TABLES = ['templates', 'extraction_jobs', 'integration_accounts', 'automations'];

/**
 * Jobs (with their files, runs, results and exports), templates, connected accounts and
 * automations belong to the tenant of the key that made them; every check is by tenant.
 * `user_id` stays as the caller that made a row. Older rows are `default`'s.
 */
export class Tenants1765100000000 implements MigrationInterface {
  name = 'Tenants1765100000000';

  async up(q: QueryRunner): Promise<void> {
    for (const t of TABLES) {
      await q.query(`ALTER TABLE ${t} ADD COLUMN tenant_id text NOT NULL DEFAULT 'default'`);
      await q.query(`ALTER TABLE ${t} ALTER COLUMN tenant_id DROP DEFAULT`);
      await q.query(`CREATE INDEX ${t}_tenant_idx ON ${t} (tenant_id, created_at DESC, id DESC)`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of TABLES) {
      await q.query(`DROP INDEX IF EXISTS ${t}_tenant_idx`);
      await q.query(`ALTER TABLE ${t} DROP COLUMN tenant_id`);
    }
  }
}
