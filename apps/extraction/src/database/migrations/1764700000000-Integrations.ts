import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The integration phase, in the seed's order: additive DDL, back-fill, run #1 for every job
 * that already ran, then the cut-over to runs. Reversible: `down` restores the earlier shape
 * with every earlier row in place (tasks and results keep `job_id` throughout).
 */
export class Integrations1764700000000 implements MigrationInterface {
  name = 'Integrations1764700000000';

  async up(q: QueryRunner): Promise<void> {
    // 1. DDL: new tables and columns, all with defaults.
    await q.query(`
      CREATE TABLE integration_accounts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id varchar(128) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        provider varchar(30) NOT NULL CHECK (provider IN ('google', 'microsoft')),
        email varchar(320),
        scopes text[] NOT NULL,
        access_token bytea,
        refresh_token bytea,
        expires_at timestamptz,
        watch_expires_at timestamptz,
        -- A renewal is queued; another is not queued before this time.
        watch_renew_after timestamptz,
        disconnected_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX idx_integration_accounts_user_provider ON integration_accounts (user_id, provider)`,
    );
    await q.query(
      `CREATE INDEX idx_integration_accounts_email ON integration_accounts (provider, lower(email))`,
    );
    await q.query(`
      ALTER TABLE source_files
        ADD COLUMN source_type varchar(20) NOT NULL DEFAULT 'upload'
          CHECK (source_type IN ('upload', 'gdrive', 'gmail')),
        ADD COLUMN external_id text,
        ADD COLUMN removed_at timestamptz`);
    await q.query(
      `CREATE INDEX idx_source_files_job_hash ON source_files (job_id, content_hash) WHERE removed_at IS NULL`,
    );
    await q.query(`
      CREATE TABLE job_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES extraction_jobs (id) ON DELETE CASCADE,
        run_number integer NOT NULL CHECK (run_number >= 1),
        status varchar(50) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'in_progress', 'completed', 'partially_completed', 'failed')),
        tasks_total integer NOT NULL DEFAULT 0,
        tasks_completed integer NOT NULL DEFAULT 0,
        tasks_failed integer NOT NULL DEFAULT 0,
        fields_snapshot jsonb NOT NULL DEFAULT '[]'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        started_at timestamptz,
        completed_at timestamptz,
        -- When the run's completion was published (its event and automation follow-up).
        announced_at timestamptz,
        UNIQUE (job_id, run_number),
        CHECK (tasks_completed >= 0 AND tasks_failed >= 0
               AND tasks_completed + tasks_failed <= tasks_total)
      )`);
    await q.query(`
      ALTER TABLE extraction_tasks
        ADD COLUMN run_id uuid,
        ADD COLUMN attempts integer NOT NULL DEFAULT 0,
        ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()`);
    await q.query(`ALTER TABLE extraction_results ADD COLUMN run_id uuid`);
    await q.query(`
      CREATE TABLE job_exports (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        run_id uuid NOT NULL REFERENCES job_runs (id) ON DELETE CASCADE,
        integration_account_id uuid REFERENCES integration_accounts (id) ON DELETE SET NULL,
        dest_type varchar(15) NOT NULL CHECK (dest_type IN ('download', 'gdrive', 'gmail')),
        file_type varchar(10) NOT NULL CHECK (file_type IN ('csv', 'xlsx')),
        status varchar(20) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
        options jsonb NOT NULL DEFAULT '{}'::jsonb,
        storage_key text,
        file_name varchar(255),
        external_id text,
        error_message text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX idx_job_exports_run ON job_exports (run_id)`);
    await q.query(
      `CREATE INDEX idx_job_exports_open ON job_exports (updated_at) WHERE status IN ('pending', 'in_progress')`,
    );
    await q.query(`
      CREATE TABLE automations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id varchar(128) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name varchar(255) NOT NULL,
        is_enabled boolean NOT NULL DEFAULT true,
        trigger_type varchar(30) NOT NULL CHECK (trigger_type IN ('gmail_attachment')),
        trigger_config jsonb NOT NULL,
        job_id uuid NOT NULL REFERENCES extraction_jobs (id) ON DELETE CASCADE,
        integration_account_id uuid NOT NULL REFERENCES integration_accounts (id) ON DELETE CASCADE,
        export_config jsonb NOT NULL,
        history_cursor text,
        last_synced_at timestamptz,
        last_fired_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX idx_automations_user ON automations (user_id)`);
    await q.query(
      `CREATE INDEX idx_automations_account ON automations (integration_account_id) WHERE is_enabled`,
    );
    await q.query(`
      CREATE TABLE automation_runs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        automation_id uuid NOT NULL REFERENCES automations (id) ON DELETE CASCADE,
        run_id uuid REFERENCES job_runs (id) ON DELETE SET NULL,
        export_id uuid REFERENCES job_exports (id) ON DELETE SET NULL,
        message_id text NOT NULL,
        attachment_id text NOT NULL,
        status varchar(20) NOT NULL DEFAULT 'pending'
          CHECK (status IN ('pending', 'completed', 'failed')),
        error_message text,
        triggered_at timestamptz NOT NULL DEFAULT now(),
        completed_at timestamptz,
        CONSTRAINT uq_automation_runs_attachment UNIQUE (automation_id, message_id, attachment_id)
      )`);
    await q.query(
      `CREATE INDEX idx_automation_runs_automation ON automation_runs (automation_id, triggered_at DESC)`,
    );
    await q.query(`CREATE INDEX idx_automation_runs_run ON automation_runs (run_id)`);

    // 2. Back-fill (a no-op once the column is NOT NULL DEFAULT, kept as the plan's step).
    await q.query(`UPDATE source_files SET source_type = 'upload' WHERE source_type IS NULL`);

    // 3. Run #1 for every job that has tasks or results, with the fields it ran with.
    await q.query(`
      INSERT INTO job_runs (job_id, run_number, status, tasks_total, tasks_completed, tasks_failed,
                            fields_snapshot, created_at, started_at, completed_at, announced_at)
      SELECT j.id, 1,
             CASE WHEN j.status IN ('pending', 'in_progress', 'completed', 'partially_completed', 'failed')
                  THEN j.status WHEN j.status = 'processing' THEN 'in_progress' ELSE 'completed' END,
             greatest(j.tasks_total, j.tasks_completed + j.tasks_failed), j.tasks_completed, j.tasks_failed,
             coalesce(f.snapshot, '[]'::jsonb), j.created_at, t.first_at, t.last_at, now()
        FROM extraction_jobs j
        LEFT JOIN (SELECT job_id, min(created_at) AS first_at, max(processed_at) AS last_at
                     FROM extraction_tasks GROUP BY job_id) t ON t.job_id = j.id
        LEFT JOIN LATERAL (
          SELECT jsonb_agg(jsonb_build_object('name', field_name, 'dataType', data_type_id,
                                              'description', description, 'displayOrder', display_order)
                           ORDER BY display_order) AS snapshot
            FROM job_fields WHERE job_id = j.id) f ON true
       WHERE EXISTS (SELECT 1 FROM extraction_tasks x WHERE x.job_id = j.id)
          OR EXISTS (SELECT 1 FROM extraction_results x WHERE x.job_id = j.id)`);
    await q.query(`
      UPDATE extraction_tasks SET run_id = jr.id
        FROM job_runs jr WHERE extraction_tasks.job_id = jr.job_id AND jr.run_number = 1`);
    await q.query(`
      UPDATE extraction_results SET run_id = t.run_id
        FROM extraction_tasks t WHERE extraction_results.task_id = t.id`);
    // Results without a task belong to their job's run #1.
    await q.query(`
      UPDATE extraction_results r SET run_id = jr.id
        FROM job_runs jr WHERE r.run_id IS NULL AND jr.job_id = r.job_id AND jr.run_number = 1`);

    // 4. Cut-over: children hang off runs; job_id stays, nullable, for older readers.
    for (const t of ['extraction_tasks', 'extraction_results']) {
      await q.query(`ALTER TABLE ${t} ALTER COLUMN job_id DROP NOT NULL`);
      await q.query(`ALTER TABLE ${t} ALTER COLUMN run_id SET NOT NULL`);
    }
    await q.query(`
      ALTER TABLE extraction_tasks ADD CONSTRAINT fk_task_run
        FOREIGN KEY (run_id) REFERENCES job_runs (id) ON DELETE CASCADE`);
    await q.query(`
      ALTER TABLE extraction_results ADD CONSTRAINT fk_result_run
        FOREIGN KEY (run_id) REFERENCES job_runs (id) ON DELETE CASCADE`);
    // A run holds each file once and each task has one result.
    await q.query(
      `CREATE UNIQUE INDEX uq_extraction_tasks_run_file ON extraction_tasks (run_id, source_file_id)`,
    );
    await q.query(
      `CREATE INDEX idx_extraction_tasks_open ON extraction_tasks (updated_at) WHERE status IN ('pending', 'processing')`,
    );
    await q.query(
      `CREATE UNIQUE INDEX uq_extraction_results_task ON extraction_results (task_id) WHERE task_id IS NOT NULL`,
    );
    await q.query(`CREATE INDEX idx_extraction_results_run ON extraction_results (run_id)`);
    await q.query(
      `CREATE INDEX idx_job_runs_unannounced ON job_runs (completed_at) WHERE announced_at IS NULL AND completed_at IS NOT NULL`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX idx_extraction_results_run`);
    await q.query(`DROP INDEX uq_extraction_results_task`);
    await q.query(`DROP INDEX idx_extraction_tasks_open`);
    await q.query(`DROP INDEX uq_extraction_tasks_run_file`);
    for (const t of ['extraction_tasks', 'extraction_results']) {
      // Rows written under runs carry job_id too; fill any that do not before it is required.
      await q.query(
        `UPDATE ${t} x SET job_id = jr.job_id FROM job_runs jr WHERE x.run_id = jr.id AND x.job_id IS NULL`,
      );
      await q.query(`ALTER TABLE ${t} ALTER COLUMN job_id SET NOT NULL`);
    }
    await q.query(`ALTER TABLE extraction_results DROP CONSTRAINT fk_result_run`);
    await q.query(`ALTER TABLE extraction_tasks DROP CONSTRAINT fk_task_run`);
    await q.query(`ALTER TABLE extraction_results DROP COLUMN run_id`);
    await q.query(`
      ALTER TABLE extraction_tasks DROP COLUMN run_id, DROP COLUMN attempts, DROP COLUMN updated_at`);
    await q.query(`DROP TABLE automation_runs`);
    await q.query(`DROP TABLE automations`);
    await q.query(`DROP TABLE job_exports`);
    await q.query(`DROP TABLE job_runs`);
    await q.query(`DROP INDEX idx_source_files_job_hash`);
    await q.query(`
      ALTER TABLE source_files DROP COLUMN source_type, DROP COLUMN external_id, DROP COLUMN removed_at`);
    await q.query(`DROP TABLE integration_accounts`);
  }
}
