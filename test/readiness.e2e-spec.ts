import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { MigrationInterface } from 'typeorm';
import { runServiceMigrations } from '@app/database';
import { createServiceApp, serviceDataSource, type ServiceDefinition } from '@app/service-kit';
import { eventually, testServiceConfig } from '@app/testing';
import { formCopiesSchema } from '../apps/form-copies/src/config';
import { FormCopiesService } from '../apps/form-copies/src/form-copies.module';
import { startService } from './harness';

/** A release's next migration, not yet run. */
class NextRelease1799999999999 implements MigrationInterface {
  name = 'NextRelease1799999999999';
  async up(): Promise<void> {}
  async down(): Promise<void> {}
}

/** A pod of a new release is not ready until the release's migrations have run. */
describe('readiness and pending migrations', () => {
  const config = testServiceConfig({ MESSAGING_PREFIX: 'rd.' }, formCopiesSchema);
  const next: ServiceDefinition = {
    ...FormCopiesService,
    migrations: [...FormCopiesService.migrations, NextRelease1799999999999],
  };
  const apps: NestFastifyApplication[] = [];

  afterAll(async () => {
    for (const a of apps) await a.close();
  });

  it('answers 503 naming the pending migration, then 200 once it has run', async () => {
    apps.push(...(await startService(FormCopiesService, config))); // migrated to today
    const app = await createServiceApp(next, config);
    apps.push(app);
    const url = await app.getUrl();
    const ready = () => fetch(`${url}/health/ready`);
    await eventually(async () => {
      const r = await ready();
      expect(r.status).toBe(503);
      expect(JSON.stringify(await r.json())).toContain('NextRelease1799999999999');
    });
    const ds = serviceDataSource(next, config);
    await ds.initialize();
    try {
      await runServiceMigrations(ds);
      await eventually(async () => expect((await ready()).status).toBe(200));
      // Live stays up throughout: a pending migration is no reason to restart a pod.
      expect((await fetch(`${url}/health/live`)).status).toBe(200);
    } finally {
      // This run's database is shared by the other suites: take the stand-in back out.
      await ds.query(`DELETE FROM migrations WHERE name = 'NextRelease1799999999999'`);
      await ds.destroy();
    }
  });
});
