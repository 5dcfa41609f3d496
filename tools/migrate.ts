import { loadConfig, type ServiceConfig, serviceSchema } from '@app/config';
import { z } from 'zod';
import { runServiceMigrations } from '@app/database';
import { serviceDataSource } from '@app/service-kit';
import { gatewayDataSource } from '../apps/gateway/src/database/data-source';
import {
  databaseUrlEnvOf,
  DEFINITIONS,
  isSchemaOwner,
  SCHEMA_OWNERS,
  type SchemaOwner,
} from './services';

const migrationSchema = serviceSchema.extend({ RABBITMQ_URL: z.string().optional() });

/** Runs each service's (and the gateway's) committed migrations with its own credentials. */
export async function migrate(
  owners: readonly SchemaOwner[],
  urlFor: (s: SchemaOwner) => string,
  log: (msg: string) => void = () => undefined,
): Promise<void> {
  for (const service of owners) {
    // Migrations never use the broker: its address is not asked for here.
    const config = loadConfig(migrationSchema, {
      ...process.env,
      DATABASE_URL: urlFor(service),
    }) as ServiceConfig;
    const ds =
      service === 'gateway'
        ? gatewayDataSource({ ...config, DB_POOL_MAX: 2 }, 'gateway-migrate')
        : serviceDataSource(DEFINITIONS[service], config);
    await ds.initialize();
    try {
      const ran = await runServiceMigrations(ds);
      log(`${service}: ${ran.length ? `applied ${ran.join(', ')}` : 'up to date'}`);
    } finally {
      await ds.destroy();
    }
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const bad = args.filter((a) => !isSchemaOwner(a));
  if (bad.length) {
    console.error(`unknown service(s): ${bad.join(', ')}; known: ${SCHEMA_OWNERS.join(', ')}`);
    process.exit(2);
  }
  const services = args.length ? (args as SchemaOwner[]) : SCHEMA_OWNERS;
  const fallback = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/platform';
  migrate(
    services,
    (s) => process.env[databaseUrlEnvOf(s)] ?? fallback,
    (m) => console.log(m),
  )
    .then(() => process.exit(0))
    .catch((err: Error) => {
      console.error(`migration failed: ${err.message}`);
      process.exit(1);
    });
}
