import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Engines: a job may name its engine (null: the service default) and a default currency;
 * each run records the engine it used. A task keeps its warnings (pages past the cap, text
 * cut to the model's budget) and what a model spent on its file. The `identifier` type.
 */
export class Engines1765400000000 implements MigrationInterface {
  name = 'Engines1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE extraction_jobs
        ADD COLUMN engine varchar(20) CHECK (engine IN ('rules', 'model')),
        ADD COLUMN default_currency char(3) CHECK (default_currency ~ '^[A-Z]{3}$')`);
    await q.query(`
      ALTER TABLE job_runs
        ADD COLUMN engine varchar(20) NOT NULL DEFAULT 'rules' CHECK (engine IN ('rules', 'model')),
        ADD COLUMN default_currency char(3)`);
    await q.query(`
      ALTER TABLE extraction_tasks
        ADD COLUMN warnings jsonb NOT NULL DEFAULT '[]'::jsonb,
        ADD COLUMN usage jsonb`);
    await q.query(`
      INSERT INTO data_types (id, display_name, base_json_type, description) VALUES
        ('identifier', 'Identifier', 'string',
         'An invoice number, reference or id: the token after its label, not the rest of the line')
      ON CONFLICT (id) DO NOTHING`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DELETE FROM data_types WHERE id = 'identifier' AND NOT EXISTS (SELECT 1 FROM job_fields WHERE data_type_id = 'identifier')`,
    );
    await q.query(`ALTER TABLE extraction_tasks DROP COLUMN usage, DROP COLUMN warnings`);
    await q.query(`ALTER TABLE job_runs DROP COLUMN default_currency, DROP COLUMN engine`);
    await q.query(`ALTER TABLE extraction_jobs DROP COLUMN default_currency, DROP COLUMN engine`);
  }
}
