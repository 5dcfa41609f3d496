import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The extraction model as it stood before the integration phase: a job owns its files,
 * fields, tasks and results directly, and can run once. The next migration moves it to
 * runs; this one exists so that move is applied to, and tested against, real data.
 */
export class Jobs1764600000000 implements MigrationInterface {
  name = 'Jobs1764600000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id varchar(128) PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE data_types (
        id varchar(30) PRIMARY KEY,
        display_name varchar(100) NOT NULL,
        base_json_type varchar(20) NOT NULL,
        description text NOT NULL DEFAULT ''
      )`);
    await q.query(`
      INSERT INTO data_types (id, display_name, base_json_type, description) VALUES
        ('text', 'Text', 'string', 'Free text'),
        ('email', 'Email', 'string', 'An email address'),
        ('phone', 'Phone', 'string', 'A phone number, digits with an optional leading +'),
        ('address', 'Address', 'string', 'A postal address'),
        ('name', 'Name', 'string', 'A person''s or organisation''s name'),
        ('url', 'URL', 'string', 'A web address'),
        ('number', 'Number', 'number', 'A decimal number'),
        ('integer', 'Integer', 'number', 'A whole number'),
        ('currency', 'Currency', 'object', 'An amount with its ISO 4217 currency'),
        ('percentage', 'Percentage', 'number', 'A percentage, as a number'),
        ('date', 'Date', 'string', 'A calendar date, as YYYY-MM-DD'),
        ('time', 'Time', 'string', 'A time of day, as HH:MM:SS'),
        ('boolean', 'Boolean', 'boolean', 'Yes or no')`);
    await q.query(`
      CREATE TABLE templates (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id varchar(128) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        name varchar(255) NOT NULL,
        fields jsonb NOT NULL DEFAULT '[]'::jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX idx_templates_user ON templates (user_id)`);
    await q.query(`
      CREATE TABLE extraction_jobs (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        user_id varchar(128) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        template_id uuid REFERENCES templates (id) ON DELETE SET NULL,
        name varchar(255) NOT NULL,
        status varchar(50) NOT NULL DEFAULT 'pending',
        tasks_total integer NOT NULL DEFAULT 0,
        tasks_completed integer NOT NULL DEFAULT 0,
        tasks_failed integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX idx_extraction_jobs_user_created ON extraction_jobs (user_id, created_at DESC, id DESC)`,
    );
    await q.query(`
      CREATE TABLE job_fields (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES extraction_jobs (id) ON DELETE CASCADE,
        field_name varchar(255) NOT NULL,
        data_type_id varchar(30) NOT NULL REFERENCES data_types (id),
        description text,
        display_order integer NOT NULL,
        UNIQUE (job_id, field_name)
      )`);
    await q.query(`
      CREATE TABLE source_files (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES extraction_jobs (id) ON DELETE CASCADE,
        original_filename varchar(500) NOT NULL,
        storage_key text NOT NULL,
        file_type varchar(100) NOT NULL,
        file_size bigint NOT NULL,
        content_hash char(64),
        status varchar(20) NOT NULL DEFAULT 'uploaded',
        uploaded_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX idx_source_files_job ON source_files (job_id)`);
    await q.query(`
      CREATE TABLE extraction_tasks (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES extraction_jobs (id) ON DELETE CASCADE,
        source_file_id uuid NOT NULL REFERENCES source_files (id) ON DELETE CASCADE,
        status varchar(20) NOT NULL DEFAULT 'pending',
        error_message text,
        created_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz
      )`);
    await q.query(`CREATE INDEX idx_extraction_tasks_job ON extraction_tasks (job_id)`);
    await q.query(`
      CREATE TABLE extraction_results (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        job_id uuid NOT NULL REFERENCES extraction_jobs (id) ON DELETE CASCADE,
        task_id uuid REFERENCES extraction_tasks (id) ON DELETE CASCADE,
        source_file_id uuid REFERENCES source_files (id) ON DELETE CASCADE,
        extracted_data jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX idx_extraction_results_job ON extraction_results (job_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'extraction_results',
      'extraction_tasks',
      'source_files',
      'job_fields',
      'extraction_jobs',
      'templates',
      'data_types',
      'users',
    ])
      await q.query(`DROP TABLE ${t}`);
  }
}
