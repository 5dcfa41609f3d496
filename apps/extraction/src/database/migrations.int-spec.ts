import { createServiceDataSource, runServiceMigrations } from '@app/database';
import { testEnv } from '@app/testing';
import type { DataSource } from 'typeorm';
import { Init1764028800000 } from './migrations/1764028800000-Init';
import { Jobs1764600000000 } from './migrations/1764600000000-Jobs';
import { Integrations1764700000000 } from './migrations/1764700000000-Integrations';

const SCHEMA = 'extraction_migration_test';

/** Everything the earlier shape holds, in a comparable order. */
async function legacySnapshot(ds: DataSource) {
  const q = (sql: string) => ds.query(sql);
  return {
    jobs: await q(
      `SELECT id, name, status, tasks_total, tasks_completed, tasks_failed FROM extraction_jobs ORDER BY id`,
    ),
    fields: await q(
      `SELECT id, job_id, field_name, data_type_id, display_order FROM job_fields ORDER BY id`,
    ),
    files: await q(
      `SELECT id, job_id, original_filename, storage_key, content_hash FROM source_files ORDER BY id`,
    ),
    tasks: await q(
      `SELECT id, job_id, source_file_id, status, error_message, created_at, processed_at FROM extraction_tasks ORDER BY id`,
    ),
    results: await q(
      `SELECT id, job_id, task_id, source_file_id, extracted_data FROM extraction_results ORDER BY id`,
    ),
  };
}

describe('extraction migrations', () => {
  const open = (migrations: Array<new () => object>) =>
    createServiceDataSource({
      url: testEnv().databaseUrl,
      schema: SCHEMA,
      applicationName: 'migration-test',
      migrations,
    });
  let before: DataSource;
  let after: DataSource;

  beforeAll(async () => {
    before = open([Init1764028800000, Jobs1764600000000]);
    await before.initialize();
    await before.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await runServiceMigrations(before);
    after = open([Init1764028800000, Jobs1764600000000, Integrations1764700000000]);
    await after.initialize();
  });

  afterAll(async () => {
    await after.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
    await before.destroy();
    await after.destroy();
  });

  it('gives jobs that ran their run #1, moves their tasks and results onto it, and rolls back losing nothing', async () => {
    // Data in the earlier shape: a finished job (2 tasks, 1 failed), a job with a result but
    // no task, and a job that never ran.
    await before.query(`INSERT INTO users (id) VALUES ('u1')`);
    const [done, resultOnly, never] = await before.query<Array<{ id: string }>>(
      `INSERT INTO extraction_jobs (user_id, name, status, tasks_total, tasks_completed, tasks_failed) VALUES
         ('u1', 'Invoices', 'partially_completed', 2, 1, 1),
         ('u1', 'Imported', 'completed', 1, 1, 0),
         ('u1', 'Draft', 'pending', 0, 0, 0)
       RETURNING id`,
    );
    await before.query(
      `INSERT INTO job_fields (job_id, field_name, data_type_id, description, display_order) VALUES
         ($1, 'total', 'currency', 'hints: total due', 0), ($1, 'invoice_date', 'date', NULL, 1)`,
      [done.id],
    );
    const files = await before.query<Array<{ id: string }>>(
      `INSERT INTO source_files (job_id, original_filename, storage_key, file_type, file_size, content_hash) VALUES
         ($1, 'a.pdf', 'k/a', 'application/pdf', 10, repeat('a', 64)),
         ($1, 'b.pdf', 'k/b', 'application/pdf', 20, repeat('b', 64)),
         ($2, 'c.pdf', 'k/c', 'application/pdf', 30, NULL)
       RETURNING id`,
      [done.id, resultOnly.id],
    );
    const tasks = await before.query<Array<{ id: string }>>(
      `INSERT INTO extraction_tasks (job_id, source_file_id, status, error_message, created_at, processed_at) VALUES
         ($1, $2, 'completed', NULL, '2026-01-01T10:00:00Z', '2026-01-01T10:05:00Z'),
         ($1, $3, 'failed', 'unreadable', '2026-01-01T10:01:00Z', '2026-01-01T10:07:00Z')
       RETURNING id`,
      [done.id, files[0].id, files[1].id],
    );
    await before.query(
      `INSERT INTO extraction_results (job_id, task_id, source_file_id, extracted_data) VALUES
         ($1, $2, $3, '{"total": {"value": 10}}'), ($4, NULL, $5, '{"total": {"value": 30}}')`,
      [done.id, tasks[0].id, files[0].id, resultOnly.id, files[2].id],
    );
    const legacy = await legacySnapshot(before);

    // Apply.
    expect(await runServiceMigrations(after)).toEqual(['Integrations1764700000000']);
    const runs = await after.query<
      Array<{
        job_id: string;
        run_number: number;
        status: string;
        tasks_total: number;
        tasks_completed: number;
        tasks_failed: number;
        fields_snapshot: unknown[];
        started_at: Date | null;
        completed_at: Date | null;
      }>
    >(`SELECT * FROM job_runs ORDER BY tasks_total DESC`);
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatchObject({
      job_id: done.id,
      run_number: 1,
      status: 'partially_completed',
      tasks_total: 2,
      tasks_completed: 1,
      tasks_failed: 1,
      fields_snapshot: [
        { name: 'total', dataType: 'currency', description: 'hints: total due', displayOrder: 0 },
        { name: 'invoice_date', dataType: 'date', description: null, displayOrder: 1 },
      ],
    });
    expect(runs[0].started_at?.toISOString()).toBe('2026-01-01T10:00:00.000Z');
    expect(runs[0].completed_at?.toISOString()).toBe('2026-01-01T10:07:00.000Z');
    expect(runs[1]).toMatchObject({ job_id: resultOnly.id, run_number: 1, status: 'completed' });
    expect(runs.some((r) => r.job_id === never.id)).toBe(false);
    // Every task and result hangs off its job's run #1; files are uploads.
    const orphans = await after.query(
      `SELECT 'task' AS kind FROM extraction_tasks t JOIN job_runs r ON r.id = t.run_id WHERE r.job_id <> t.job_id
       UNION ALL SELECT 'result' FROM extraction_results x JOIN job_runs r ON r.id = x.run_id WHERE r.job_id <> x.job_id
       UNION ALL SELECT 'null' FROM extraction_tasks WHERE run_id IS NULL
       UNION ALL SELECT 'null' FROM extraction_results WHERE run_id IS NULL`,
    );
    expect(orphans).toEqual([]);
    expect(await after.query(`SELECT DISTINCT source_type FROM source_files`)).toEqual([
      { source_type: 'upload' },
    ]);
    expect(await legacySnapshot(after)).toEqual(legacy);
    // The constraints of the new shape hold: a run number once per job, counters bounded.
    await expect(
      after.query(`INSERT INTO job_runs (job_id, run_number) VALUES ($1, 1)`, [done.id]),
    ).rejects.toThrow(/duplicate key/);
    await expect(
      after.query(
        `INSERT INTO job_runs (job_id, run_number, tasks_total, tasks_completed) VALUES ($1, 2, 1, 2)`,
        [done.id],
      ),
    ).rejects.toThrow(/check constraint/);

    // Roll back: the earlier shape, every earlier row as it was.
    await after.undoLastMigration({ transaction: 'each' });
    const columns = await after.query<Array<{ column_name: string }>>(
      `SELECT column_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'extraction_tasks' ORDER BY column_name`,
      [SCHEMA],
    );
    expect(columns.map((c) => c.column_name)).not.toContain('run_id');
    expect(await after.query(`SELECT to_regclass('job_runs') AS t`)).toEqual([{ t: null }]);
    expect(await legacySnapshot(after)).toEqual(legacy);

    // And forward again, as a redeploy would.
    expect(await runServiceMigrations(after)).toEqual(['Integrations1764700000000']);
    expect(await after.query(`SELECT count(*)::int AS n FROM job_runs`)).toEqual([{ n: 2 }]);
  });
});
