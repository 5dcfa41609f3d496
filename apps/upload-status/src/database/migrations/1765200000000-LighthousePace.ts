import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The token bucket every replica's Lighthouse calls draw from (see LighthousePace). */
export class LighthousePace1765200000000 implements MigrationInterface {
  name = 'LighthousePace1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE lighthouse_pace (
        name text PRIMARY KEY,
        tokens double precision NOT NULL,
        refilled_at timestamptz NOT NULL
      )`);
    await q.query(
      `INSERT INTO lighthouse_pace (name, tokens, refilled_at) VALUES ('status', 1, now())`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS lighthouse_pace');
  }
}
