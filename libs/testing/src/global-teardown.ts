import { Client } from 'pg';
import { rabbitmqctl, type TestEnv } from './run-env';

export default async function globalTeardown(): Promise<void> {
  const raw = process.env.PLATFORM_TEST_ENV;
  if (!raw || process.env.KEEP_TEST_ENV === 'true') return;
  const env = JSON.parse(raw) as TestEnv;
  const adminUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const admin = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    // The run's database and any a suite made beside it (named after it).
    const prefix = new URL(env.databaseUrl).pathname.slice(1);
    const dbs = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`${prefix}%`],
    );
    for (const d of dbs.rows)
      await admin.query(`DROP DATABASE IF EXISTS "${d.datname}" WITH (FORCE)`);
    // Roles made by this run's provisioning tests.
    const roles = await admin.query<{ rolname: string }>(
      `SELECT rolname FROM pg_roles WHERE rolname LIKE $1`,
      [`t${env.runId}%`],
    );
    for (const r of roles.rows) await admin.query(`DROP ROLE IF EXISTS "${r.rolname}"`);
  } finally {
    await admin.end();
  }
  try {
    rabbitmqctl('delete_vhost', env.vhost);
  } catch {
    /* already gone */
  }
}
