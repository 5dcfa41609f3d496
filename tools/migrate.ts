import { isServiceName, SERVICES, type ServiceName } from '@app/contracts';
import { loadConfig, serviceSchema } from '@app/config';
import { runServiceMigrations } from '@app/database';
import { serviceDataSource } from '@app/service-kit';
import { databaseUrlEnvOf, DEFINITIONS } from './services';

/** Runs each service's committed migrations with that service's own credentials. */
export async function migrate(
  services: readonly ServiceName[],
  urlFor: (s: ServiceName) => string,
  log: (msg: string) => void = () => undefined,
): Promise<void> {
  for (const service of services) {
    const config = loadConfig(serviceSchema, { ...process.env, DATABASE_URL: urlFor(service) });
    const ds = serviceDataSource(DEFINITIONS[service], config);
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
  const bad = args.filter((a) => !isServiceName(a));
  if (bad.length) {
    console.error(`unknown service(s): ${bad.join(', ')}; known: ${SERVICES.join(', ')}`);
    process.exit(2);
  }
  const services = args.length ? (args as ServiceName[]) : SERVICES;
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
