import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Wrong access codes are counted per recipient; past the limit the step is locked until resent. */
export class AccessCodeAttempts1764800000000 implements MigrationInterface {
  name = 'AccessCodeAttempts1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE recipients
      ADD COLUMN access_code_failures integer NOT NULL DEFAULT 0 CHECK (access_code_failures >= 0),
      ADD COLUMN access_code_locked_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `ALTER TABLE recipients DROP COLUMN access_code_locked_at, DROP COLUMN access_code_failures`,
    );
  }
}
