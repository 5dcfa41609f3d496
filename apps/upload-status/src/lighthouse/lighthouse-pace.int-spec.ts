import { runServiceMigrations } from '@app/database';
import { serviceDataSource } from '@app/service-kit';
import { testServiceConfig } from '@app/testing';
import type { DataSource } from 'typeorm';
import { uploadStatusSchema } from '../config';
import { UploadStatusService } from '../upload-status.module';
import { LighthousePace } from './lighthouse-pace';

/** Two replicas draw on one bucket: together they never pass the configured rate. */
describe('LighthousePace', () => {
  let ds: DataSource;
  const config = testServiceConfig(
    { LIGHTHOUSE_RATE_PER_MINUTE: '60', LIGHTHOUSE_BURST: '3' },
    uploadStatusSchema,
  );

  beforeAll(async () => {
    ds = serviceDataSource(UploadStatusService, config);
    await ds.initialize();
    await runServiceMigrations(ds);
  });
  afterAll(() => ds?.destroy());

  // (Two instances: the state is the row, not anything in a process.)
  it('lets a burst through, then hands out about one call a second to all replicas together', async () => {
    // A full bucket, as after a quiet spell.
    await ds.query(`UPDATE lighthouse_pace SET tokens = 3, refilled_at = clock_timestamp()`);
    const one = new LighthousePace(ds, config);
    const two = new LighthousePace(ds, config);
    const waits = await Promise.all([
      one.tryTake(),
      two.tryTake(),
      one.tryTake(),
      two.tryTake(),
      one.tryTake(),
    ]);
    expect(waits.filter((w) => w === 0)).toHaveLength(3);
    // The two refused are told to come back in at most the time one token takes to refill.
    for (const w of waits.filter((x) => x > 0)) {
      expect(w).toBeGreaterThan(0);
      expect(w).toBeLessThanOrEqual(1000);
    }
    const [{ tokens }] = await ds.query<Array<{ tokens: number }>>(
      `SELECT tokens FROM lighthouse_pace WHERE name = 'status'`,
    );
    expect(tokens).toBeLessThan(1);
    expect(tokens).toBeGreaterThanOrEqual(0);
  });
});
