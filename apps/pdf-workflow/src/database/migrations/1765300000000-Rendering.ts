import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Documents are filled after the step commits, not inside it: `document_step` is how many
 * completed steps the current document shows; a workflow whose last step is done waits in
 * FINALIZING until its sealed document is stored. A lease lets one replica render at a time
 * and another take over if it dies; failures back off (`render_attempts`, `render_error`).
 */
export class Rendering1765300000000 implements MigrationInterface {
  name = 'Rendering1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE workflow_sessions DROP CONSTRAINT IF EXISTS workflow_sessions_status_check`,
    );
    await q.query(
      `ALTER TABLE workflow_sessions ADD CONSTRAINT workflow_sessions_status_check
         CHECK (status IN ('ACTIVE', 'FINALIZING', 'COMPLETED', 'CANCELLED', 'EXPIRED'))`,
    );
    await q.query(
      `ALTER TABLE workflow_sessions
         ADD COLUMN document_step integer NOT NULL DEFAULT 0,
         ADD COLUMN render_after timestamptz,
         ADD COLUMN render_attempts integer NOT NULL DEFAULT 0,
         ADD COLUMN render_error text`,
    );
    // Documents stored before this were filled within their step.
    await q.query(`UPDATE workflow_sessions SET document_step = completed_recipients`);
    await q.query(
      `CREATE INDEX workflow_sessions_render_idx ON workflow_sessions (render_after)
        WHERE document_step < completed_recipients`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX workflow_sessions_render_idx`);
    await q.query(
      `ALTER TABLE workflow_sessions DROP COLUMN document_step, DROP COLUMN render_after,
         DROP COLUMN render_attempts, DROP COLUMN render_error`,
    );
    await q.query(`UPDATE workflow_sessions SET status = 'COMPLETED' WHERE status = 'FINALIZING'`);
    await q.query(`ALTER TABLE workflow_sessions DROP CONSTRAINT workflow_sessions_status_check`);
    await q.query(
      `ALTER TABLE workflow_sessions ADD CONSTRAINT workflow_sessions_status_check
         CHECK (status IN ('ACTIVE', 'COMPLETED', 'CANCELLED', 'EXPIRED'))`,
    );
  }
}
