import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Lighthouse's own start and end times of each upload's processing (its `time.startTime`
 * and `time.endTime`, epoch milliseconds), kept as the service answers them.
 */
export class LighthouseTimes1765300000000 implements MigrationInterface {
  name = 'LighthouseTimes1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE document_uploads ADD COLUMN lighthouse_started_at timestamptz`);
    await q.query(`ALTER TABLE document_uploads ADD COLUMN lighthouse_ended_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE document_uploads DROP COLUMN lighthouse_ended_at`);
    await q.query(`ALTER TABLE document_uploads DROP COLUMN lighthouse_started_at`);
  }
}
