import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addTenantColumn, dropTenantColumn } from '@app/database';

/**
 * The per-user audit carries the tenant of the key that acted: a user's history, and the
 * manifests and documents they may read here, are their tenant's. The cached manifests
 * stay shared (one per veteran file, from the upstreams). Older rows are `default`'s.
 */
export class Tenants1765100000000 implements MigrationInterface {
  name = 'Tenants1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await addTenantColumn(q, 'user_manifests', {
      name: 'user_manifests_tenant_user_idx',
      columns: 'css_id, station_id, created_at DESC',
    });
  }

  async down(q: QueryRunner): Promise<void> {
    await dropTenantColumn(q, 'user_manifests');
  }
}
