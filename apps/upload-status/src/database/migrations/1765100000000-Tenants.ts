import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addTenantColumn, dropTenantColumn } from '@app/database';

/**
 * Every upload belongs to the tenant that recorded it; reads and lists are limited to it.
 * Rows from before tenancy belong to the tenant of keys that name none. The Lighthouse
 * request id stays unique across tenants: it is Lighthouse's identity of one upload.
 */
export class Tenants1765100000000 implements MigrationInterface {
  name = 'Tenants1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await addTenantColumn(q, 'document_uploads', {
      name: 'document_uploads_tenant_idx',
      columns: 'created_at DESC, id DESC',
    });
    await q.query(
      `CREATE INDEX document_uploads_tenant_submission_idx ON document_uploads (tenant_id, form526_submission_id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await dropTenantColumn(q, 'document_uploads');
  }
}
