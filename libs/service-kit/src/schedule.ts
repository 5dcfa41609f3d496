import type { SchedulerRegistry } from '@nestjs/schedule';
import type { Logger } from 'pino';

/**
 * Runs `fn` every `seconds` in this replica, never overlapping itself, logging a failure
 * instead of crashing. Jobs must be safe when every replica runs them (claims, re-checked
 * conditions). Returns the function that stops it.
 */
export function scheduleEvery(
  scheduler: SchedulerRegistry,
  name: string,
  seconds: number,
  fn: () => Promise<unknown>,
  logger: Logger,
): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    fn()
      .catch((err: unknown) => logger.error({ err, job: name }, 'scheduled job failed'))
      .finally(() => (running = false));
  }, seconds * 1000);
  scheduler.addInterval(name, timer);
  return () => {
    if (scheduler.doesExist('interval', name)) scheduler.deleteInterval(name);
  };
}
