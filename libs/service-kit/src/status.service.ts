import { isUuid } from '@app/contracts';
import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { OutboxEventView, ServiceStatus } from '@app/contracts';
import { migrationState } from '@app/database';
import { EventBus, rpcError } from '@app/messaging';
import { SERVICE_INFO, type ServiceInfo } from './tokens';

/** What a service reports about itself over RPC, read live from its database. */
@Injectable()
export class StatusService {
  constructor(
    @InjectDataSource() private readonly ds: DataSource,
    private readonly bus: EventBus,
    @Inject(SERVICE_INFO) private readonly info: ServiceInfo,
  ) {}

  async status(): Promise<ServiceStatus> {
    const base = {
      service: this.info.service,
      version: this.info.version,
      uptimeSeconds: Math.round((Date.now() - this.info.startedAt.getTime()) / 1000),
      broker: { connected: this.bus.isConnected() },
    };
    const started = process.hrtime.bigint();
    try {
      const migrations = await migrationState(this.ds);
      const latencyMs = Number(process.hrtime.bigint() - started) / 1e6;
      return {
        ...base,
        database: {
          reachable: true,
          schema: this.info.schema,
          latencyMs: Math.round(latencyMs * 100) / 100,
        },
        migrations,
      };
    } catch (err) {
      return {
        ...base,
        database: { reachable: false, schema: this.info.schema, error: (err as Error).message },
        migrations: { applied: [], pending: this.ds.migrations.map((m) => m.name ?? '') },
      };
    }
  }

  /** One outbox row by primary key: where an event is on its way out. */
  async outboxEvent(id: unknown): Promise<OutboxEventView> {
    if (typeof id !== 'string' || !isUuid(id)) {
      throw rpcError('validation_failed', 'id must be a UUID', { field: 'id' });
    }
    const rows = await this.ds.query<
      Array<{
        id: string;
        event_name: string;
        created_at: Date;
        published_at: Date | null;
        attempts: number;
        last_error: string | null;
      }>
    >(
      `SELECT id, event_name, created_at, published_at, attempts, last_error FROM outbox WHERE id = $1`,
      [id],
    );
    const row = rows[0];
    if (!row) throw rpcError('not_found', `no outbox event ${id} in ${this.info.service}`);
    return {
      id: row.id,
      eventName: row.event_name,
      createdAt: row.created_at.toISOString(),
      publishedAt: row.published_at?.toISOString() ?? null,
      attempts: row.attempts,
      lastError: row.last_error,
    };
  }
}
