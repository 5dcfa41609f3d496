import { Client } from 'pg';
import type { ServiceName } from '@app/contracts';
import { migrate } from '../../tools/migrate';
import { provision } from '../../tools/provision';

export interface BenchDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A database of the bench's own, migrated for one service, dropped when the bench ends. */
export async function benchDatabase(tag: string, service: ServiceName): Promise<BenchDatabase> {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `platform_bench_${tag}_${process.pid}`;
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const db: BenchDatabase = {
    url: u.toString(),
    drop: async () => {
      const admin = new Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    },
  };
  try {
    await provision({ adminUrl: db.url, roles: false });
    await migrate([service], () => db.url);
  } catch (err) {
    await db.drop();
    throw err;
  }
  return db;
}
