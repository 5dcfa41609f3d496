import { SchedulerRegistry } from '@nestjs/schedule';
import pino from 'pino';
import { scheduleEvery } from './schedule';

describe('scheduleEvery', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('never runs a job over itself, survives a failure, and stops', async () => {
    const scheduler = new SchedulerRegistry();
    const lines: string[] = [];
    const logger = pino({ level: 'error' }, { write: (l: string) => lines.push(l) });
    let runs = 0;
    let release: () => void = () => undefined;
    const stop = scheduleEvery(
      scheduler,
      'test.job',
      1,
      () =>
        new Promise<void>((resolve, reject) => {
          runs++;
          if (runs === 2) return reject(new Error('boom'));
          release = resolve;
        }),
      logger,
    );
    jest.advanceTimersByTime(1000);
    expect(runs).toBe(1);
    jest.advanceTimersByTime(3000); // still running: no second start
    expect(runs).toBe(1);
    release();
    await Promise.resolve();
    await Promise.resolve();
    jest.advanceTimersByTime(1000);
    expect(runs).toBe(2);
    await Promise.resolve();
    await Promise.resolve();
    await Promise.resolve();
    expect(lines.some((l) => l.includes('scheduled job failed') && l.includes('test.job'))).toBe(
      true,
    );
    jest.advanceTimersByTime(1000);
    expect(runs).toBe(3);
    stop();
    expect(scheduler.doesExist('interval', 'test.job')).toBe(false);
    jest.advanceTimersByTime(5000);
    expect(runs).toBe(3);
  });
});
