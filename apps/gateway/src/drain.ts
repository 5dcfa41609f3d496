import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Logger } from 'pino';

/** Whether the gateway is on its way out (readiness reports it; answers close keep-alive). */
export class DrainState {
  draining = false;
}

export interface DrainOptions {
  /** Time between readiness turning 503 and the listener closing. */
  drainDelayMs: number;
  /** Hard limit for the whole shutdown; past it the process exits 1. */
  graceMs: number;
  logger: Logger;
}

/**
 * SIGTERM/SIGINT, in order: readiness answers 503 and every answer says `Connection: close`
 * (load balancers and keep-alive clients move to other replicas) while requests are still
 * served for `drainDelayMs`; then the listener closes, idle connections are closed, requests
 * in flight finish, RPC connections close, and the process exits 0. The Kubernetes grace
 * period is preStop + drainDelayMs + graceMs (see k8s/base/gateway.yaml).
 */
export function drainOnSignals(
  app: NestFastifyApplication,
  state: DrainState,
  o: DrainOptions,
): void {
  let started = false;
  const stop = async (signal: string) => {
    if (started) return;
    started = true;
    o.logger.info({ signal, drainDelayMs: o.drainDelayMs }, 'draining');
    state.draining = true;
    const hard = setTimeout(() => {
      o.logger.error({ graceMs: o.graceMs }, 'shutdown took longer than its grace; exiting');
      process.exit(1);
    }, o.drainDelayMs + o.graceMs);
    hard.unref();
    await new Promise((r) => setTimeout(r, o.drainDelayMs));
    try {
      await app.close();
      o.logger.info('stopped');
      process.exit(0);
    } catch (err) {
      o.logger.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  for (const s of ['SIGTERM', 'SIGINT'] as const) process.once(s, () => void stop(s));
}
