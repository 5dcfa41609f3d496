import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The gateway's own schema: managed API keys (only their SHA-256 is kept, with a short
 * prefix to recognise a key by) and the audit of operators' reads across tenants.
 */
export class ApiKeys1765100000000 implements MigrationInterface {
  name = 'ApiKeys1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        caller_id text NOT NULL,
        prefix text NOT NULL,
        sha256 bytea NOT NULL UNIQUE,
        scopes text[] NOT NULL CHECK (cardinality(scopes) > 0),
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text NOT NULL,
        expires_at timestamptz,
        last_used_at timestamptz,
        revoked_at timestamptz,
        replaces uuid REFERENCES api_keys (id)
      )`);
    await q.query(`CREATE INDEX api_keys_caller_idx ON api_keys (tenant_id, caller_id)`);
    await q.query(`
      CREATE TABLE cross_tenant_reads (
        id bigserial PRIMARY KEY,
        at timestamptz NOT NULL DEFAULT now(),
        key_id text NOT NULL,
        caller_id text NOT NULL,
        tenant_id text NOT NULL,
        method text NOT NULL,
        path text NOT NULL,
        correlation_id text
      )`);
    await q.query(`CREATE INDEX cross_tenant_reads_at_idx ON cross_tenant_reads (at DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS cross_tenant_reads');
    await q.query('DROP TABLE IF EXISTS api_keys');
  }
}
