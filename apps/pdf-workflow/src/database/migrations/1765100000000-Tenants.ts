import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addTenantColumn, dropTenantColumn } from '@app/database';

/**
 * Every workflow belongs to the tenant of the key that created it; creators' reads, lists,
 * changes, stats and downloads are limited to it (recipients still act by their links).
 * Rows from before tenancy belong to the tenant of keys that name none.
 */
export class Tenants1765100000000 implements MigrationInterface {
  name = 'Tenants1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await addTenantColumn(q, 'workflow_sessions', {
      name: 'workflow_sessions_tenant_idx',
      columns: 'created_at DESC, id DESC',
    });
  }

  async down(q: QueryRunner): Promise<void> {
    await dropTenantColumn(q, 'workflow_sessions');
  }
}
