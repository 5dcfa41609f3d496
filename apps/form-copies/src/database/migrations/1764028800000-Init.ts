import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createMessagingTables, dropMessagingTables } from '@app/database';

export class Init1764028800000 implements MigrationInterface {
  name = 'Init1764028800000';

  async up(q: QueryRunner): Promise<void> {
    await createMessagingTables(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropMessagingTables(q);
  }
}
