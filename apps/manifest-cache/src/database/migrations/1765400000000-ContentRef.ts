import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What a record's source needs to hand its content over: VVA wants the document's source
 * system, format, regional office and SSN; Claims Evidence the series uuid.
 */
export class ContentRef1765400000000 implements MigrationInterface {
  name = 'ContentRef1765400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE records ADD COLUMN content_ref jsonb`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE records DROP COLUMN content_ref`);
  }
}
