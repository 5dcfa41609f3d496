import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Every upload belongs to the tenant that recorded it; reads and lists are limited to it.
 * Rows from before tenancy belong to the tenant of keys that name none. The Lighthouse
 * request id stays unique across tenants: it is Lighthouse's identity of one upload.
 */
export class Tenants1765100000000 implements MigrationInterface {
  name = 'Tenants1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE document_uploads ADD COLUMN tenant_id text NOT NULL DEFAULT 'default'`,
    );
    await q.query(`ALTER TABLE document_uploads ALTER COLUMN tenant_id DROP DEFAULT`);
    await q.query(
      `CREATE INDEX document_uploads_tenant_idx ON document_uploads (tenant_id, created_at DESC, id DESC)`,
    );
    await q.query(
      `CREATE INDEX document_uploads_tenant_submission_idx ON document_uploads (tenant_id, form526_submission_id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS document_uploads_tenant_submission_idx`);
    await q.query(`DROP INDEX IF EXISTS document_uploads_tenant_idx`);
    await q.query(`ALTER TABLE document_uploads DROP COLUMN tenant_id`);
  }
}
