import type { MigrationInterface, QueryRunner } from 'typeorm';

/** When the manifest's files were last all downloaded (eFolder's `fetched_files_at`). */
export class FetchedFilesAt1765200000000 implements MigrationInterface {
  name = 'FetchedFilesAt1765200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE manifests ADD COLUMN fetched_files_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE manifests DROP COLUMN fetched_files_at`);
  }
}
