import type { MigrationInterface, QueryRunner } from 'typeorm';

// The inbox as the first migrations made it (dropped by RpcRequests, restored by its down).
const INBOX_DDL = `
    CREATE TABLE inbox (
      consumer text NOT NULL,
      message_id text NOT NULL,
      event_name text NOT NULL,
      handled_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (consumer, message_id)
    )`;

/**
 * The outbox (events written with the state change, relayed later) and the inbox
 * (message ids already handled). Every service's first migration creates them.
 */
export async function createMessagingTables(q: QueryRunner): Promise<void> {
  await q.query(`
    CREATE TABLE outbox (
      id uuid PRIMARY KEY,
      event_name text NOT NULL,
      payload jsonb NOT NULL,
      headers jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      published_at timestamptz,
      attempts integer NOT NULL DEFAULT 0,
      last_error text
    )`);
  await q.query(
    `CREATE INDEX outbox_unpublished_idx ON outbox (created_at) WHERE published_at IS NULL`,
  );
  await q.query(INBOX_DDL);
}

export async function dropMessagingTables(q: QueryRunner): Promise<void> {
  await q.query('DROP TABLE IF EXISTS inbox');
  await q.query('DROP TABLE IF EXISTS outbox');
}

/**
 * The writes a service handled, by request id, with the answer it gave: a repeat gets that
 * answer and no second effect (the row is inserted in the effect's own transaction). The
 * inbox goes: events are de-duplicated by the state they change (constraints, conditional
 * updates), which every consumer already relies on.
 */
export async function createRpcRequestsTable(q: QueryRunner): Promise<void> {
  await q.query(`
    CREATE TABLE rpc_requests (
      request_id text PRIMARY KEY,
      pattern text NOT NULL,
      fingerprint text,
      response jsonb,
      created_at timestamptz NOT NULL DEFAULT now(),
      answered_at timestamptz
    )`);
  await q.query(`CREATE INDEX rpc_requests_created_idx ON rpc_requests (created_at)`);
  await q.query('DROP TABLE IF EXISTS inbox');
}

export async function dropRpcRequestsTable(q: QueryRunner): Promise<void> {
  await q.query('DROP TABLE IF EXISTS rpc_requests');
  await q.query(INBOX_DDL);
}

/** The same migration in every service (each has its own migrations table and schema). */
export class RpcRequests1764900000000 implements MigrationInterface {
  name = 'RpcRequests1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await createRpcRequestsTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropRpcRequestsTable(q);
  }
}
