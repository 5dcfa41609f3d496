import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addTenantColumn, dropTenantColumn } from '@app/database';

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
      await addTenantColumn(q, t, { name: `${t}_tenant_idx`, columns: 'created_at DESC, id DESC' });
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of TABLES) await dropTenantColumn(q, t);
  }
}
