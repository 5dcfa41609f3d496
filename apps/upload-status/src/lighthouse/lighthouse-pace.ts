import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { UploadStatusConfig } from '../config';

/** Something that hands out permission to call Lighthouse, one call at a time. */
export interface CallPace {
  take(): Promise<void>;
}

/**
 * One pace for every replica: a token bucket in Postgres (one row, refilled by the time since
 * it was last touched), so all pollers together stay within Lighthouse's documented rate
 * (LIGHTHOUSE_RATE_PER_MINUTE, 60 for the status API) with bursts of LIGHTHOUSE_BURST.
 * Taking a token is one statement; a caller without one waits until the bucket has one.
 */
@Injectable()
export class LighthousePace implements CallPace {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    @Inject(SERVICE_CONFIG) private readonly config: UploadStatusConfig,
  ) {}

  async take(): Promise<void> {
    for (;;) {
      const waitMs = await this.tryTake();
      if (waitMs === 0) return;
      // Jitter: replicas that found the bucket empty together do not come back together.
      await new Promise((r) => setTimeout(r, waitMs + Math.random() * 250));
    }
  }

  /** 0 when a token was taken; otherwise how long until one is there. */
  async tryTake(): Promise<number> {
    const rate = this.config.LIGHTHOUSE_RATE_PER_MINUTE / 60; // tokens per second
    const burst = this.config.LIGHTHOUSE_BURST;
    const rows = await this.ds.query<Array<{ taken: boolean; wait_s: number }>>(
      `WITH refilled AS (
         SELECT least($2::float8, tokens + extract(epoch FROM clock_timestamp() - refilled_at) * $1::float8) AS t
           FROM lighthouse_pace WHERE name = 'status' FOR UPDATE),
       taken AS (
         UPDATE lighthouse_pace SET tokens = (SELECT t FROM refilled) - 1, refilled_at = clock_timestamp()
          WHERE name = 'status' AND (SELECT t FROM refilled) >= 1 RETURNING 1)
       SELECT EXISTS (SELECT 1 FROM taken) AS taken,
              greatest(0, (1 - (SELECT t FROM refilled)) / $1::float8) AS wait_s`,
      [rate, burst],
    );
    const r = rows[0];
    return r.taken ? 0 : Math.max(1, Math.ceil(r.wait_s * 1000));
  }
}
