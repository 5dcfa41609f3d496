import type { Logger } from 'pino';
import type { DataSource } from 'typeorm';

/**
 * Connects the gateway's pool in the background, retrying with back-off and jitter: keys
 * from configuration work while Postgres is away, and managed keys answer 503 until then.
 */
export class GatewayDatabase {
  private stopped = false;

  constructor(
    readonly ds: DataSource,
    private readonly logger: Pick<Logger, 'warn' | 'info'>,
  ) {}

  start(): void {
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.ds.isInitialized) await this.ds.destroy();
  }

  private async connect(): Promise<void> {
    for (let attempt = 0; !this.stopped && !this.ds.isInitialized; attempt++) {
      try {
        await this.ds.initialize();
        if (this.stopped) await this.ds.destroy();
        return;
      } catch (err) {
        const delay = Math.min(30_000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.logger.warn(
          { err: (err as Error).message, retryInMs: Math.round(delay) },
          'gateway database not reachable',
        );
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }
}
