import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The per-user audit carries the tenant of the key that acted: a user's history, and the
 * manifests and documents they may read here, are their tenant's. The cached manifests
 * stay shared (one per veteran file, from the upstreams). Older rows are `default`'s.
 */
export class Tenants1765100000000 implements MigrationInterface {
  name = 'Tenants1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE user_manifests ADD COLUMN tenant_id text NOT NULL DEFAULT 'default'`,
    );
    await q.query(`ALTER TABLE user_manifests ALTER COLUMN tenant_id DROP DEFAULT`);
    await q.query(
      `CREATE INDEX user_manifests_tenant_user_idx ON user_manifests (tenant_id, css_id, station_id, created_at DESC)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS user_manifests_tenant_user_idx`);
    await q.query(`ALTER TABLE user_manifests DROP COLUMN tenant_id`);
  }
}
