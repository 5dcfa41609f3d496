import type { DataSource } from 'typeorm';

export interface MigrationState {
  applied: string[];
  pending: string[];
}

/**
 * Runs a service's migrations once, however many processes try at the same time: an
 * advisory lock per schema serialises them and each migration runs in its own transaction.
 */
export async function runServiceMigrations(ds: DataSource): Promise<string[]> {
  const schema = schemaOf(ds);
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock(hashtext($1))', [`migrations:${schema}`]);
    try {
      const exists = (await runner.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
        schema,
      ])) as unknown[];
      if (exists.length === 0) await runner.query(`CREATE SCHEMA "${schema}"`);
      const ran = await ds.runMigrations({ transaction: 'each' });
      return ran.map((m) => m.name);
    } finally {
      await runner.query('SELECT pg_advisory_unlock(hashtext($1))', [`migrations:${schema}`]);
    }
  } finally {
    await runner.release();
  }
}

/** Which of the service's committed migrations the database has, and which it lacks. */
export async function migrationState(ds: DataSource): Promise<MigrationState> {
  const known = ds.migrations.map((m) => m.name ?? m.constructor.name);
  let applied: string[] = [];
  try {
    const rows = await ds.query<Array<{ name: string }>>(
      `SELECT name FROM "${schemaOf(ds)}"."migrations" ORDER BY id`,
    );
    applied = rows.map((r) => r.name);
  } catch (err) {
    // 42P01: no migrations table yet, i.e. nothing applied.
    if ((err as { code?: string }).code !== '42P01') throw err;
  }
  return { applied, pending: known.filter((n) => !applied.includes(n)) };
}

function schemaOf(ds: DataSource): string {
  const schema = (ds.options as { schema?: string }).schema;
  if (!schema) throw new Error('service DataSource has no schema');
  return schema;
}
