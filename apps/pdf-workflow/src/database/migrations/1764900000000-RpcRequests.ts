import type { MigrationInterface, QueryRunner } from 'typeorm';
import { createRpcRequestsTable, dropRpcRequestsTable } from '@app/database';

/** Write requests recorded by id with their answers (one effect per request). */
export class RpcRequests1764900000000 implements MigrationInterface {
  name = 'RpcRequests1764900000000';

  async up(q: QueryRunner): Promise<void> {
    await createRpcRequestsTable(q);
  }

  async down(q: QueryRunner): Promise<void> {
    await dropRpcRequestsTable(q);
  }
}
