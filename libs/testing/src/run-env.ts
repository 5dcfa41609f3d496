import { execFileSync } from 'node:child_process';

// Loaded by the global setup, which runs outside Jest's module mapping: no @app imports here.

/** What the global setup made for this run: its own database and its own vhost. */
export interface TestEnv {
  runId: string;
  databaseUrl: string;
  rabbitUrl: string;
  vhost: string;
}

export function rabbitmqctl(...args: string[]): string {
  return execFileSync('rabbitmqctl', ['--quiet', ...args], { encoding: 'utf8', timeout: 30000 });
}
