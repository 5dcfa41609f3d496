import { DataSource, type DataSourceOptions, type MixedList, type EntitySchema } from 'typeorm';
import { SnakeNamingStrategy } from 'typeorm-naming-strategies';

export interface ServiceDataSourceOptions {
  url: string;
  schema: string;
  applicationName: string;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities?: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations?: MixedList<Function | string>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  subscribers?: MixedList<Function | string>;
  poolMax?: number;
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Options for a service's one DataSource: its own schema, its own migrations table, no
 * synchronize, and a pool that gives up instead of waiting forever.
 *
 * `search_path` is pinned on every connection because raw SQL (in migrations and
 * repositories) follows it, not the `schema` option.
 */
export function serviceDataSourceOptions(o: ServiceDataSourceOptions): DataSourceOptions {
  if (!SCHEMA_NAME.test(o.schema))
    throw new Error(`schema "${o.schema}" is not a plain identifier`);
  const statementTimeout = o.statementTimeoutMs ?? 15000;
  return {
    type: 'postgres',
    url: o.url,
    schema: o.schema,
    entities: o.entities ?? [],
    migrations: o.migrations ?? [],
    subscribers: o.subscribers ?? [],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    synchronize: false,
    migrationsRun: false,
    namingStrategy: new SnakeNamingStrategy(),
    applicationName: o.applicationName,
    poolSize: o.poolMax ?? 10,
    connectTimeoutMS: o.connectTimeoutMs ?? 5000,
    extra: {
      max: o.poolMax ?? 10,
      connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30000,
      options: `-c search_path=${o.schema} -c statement_timeout=${statementTimeout} -c lock_timeout=${statementTimeout}`,
    },
  };
}

export function createServiceDataSource(o: ServiceDataSourceOptions): DataSource {
  return new DataSource(serviceDataSourceOptions(o));
}
