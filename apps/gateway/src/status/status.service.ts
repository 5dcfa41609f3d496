import { Inject, Injectable } from '@nestjs/common';
import { rpcPatterns, SERVICES, type ServiceName, type ServiceStatus } from '@app/contracts';
import { platformVersion, SERVICE_CONFIG } from '@app/service-kit';
import type { GatewayConfig } from '../config';
import { ServicesClient } from '../rpc';

export type ServiceReport =
  | (ServiceStatus & { status: 'up' | 'degraded'; responseMs: number })
  | { service: ServiceName; status: 'down'; error: string; responseMs: number };

export interface PlatformStatus {
  status: 'ok' | 'degraded';
  gateway: { version: string; broker: { connected: boolean } };
  services: ServiceReport[];
}

@Injectable()
export class StatusService {
  constructor(
    private readonly rpc: ServicesClient,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** Asks every service at once; one that does not answer in time is reported down. */
  async platformStatus(): Promise<PlatformStatus> {
    const services = await Promise.all(SERVICES.map((s) => this.serviceStatus(s)));
    return {
      status: services.every((s) => s.status === 'up') ? 'ok' : 'degraded',
      gateway: { version: platformVersion(), broker: { connected: this.rpc.isConnected() } },
      services,
    };
  }

  private async serviceStatus(service: ServiceName): Promise<ServiceReport> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    try {
      const st = await this.rpc.send(
        rpcPatterns.status(service),
        {},
        { timeoutMs: this.config.STATUS_TIMEOUT_MS },
      );
      const healthy = st.database.reachable && st.migrations.pending.length === 0;
      return { ...st, status: healthy ? 'up' : 'degraded', responseMs: elapsed() };
    } catch (err) {
      return { service, status: 'down', error: (err as Error).message, responseMs: elapsed() };
    }
  }
}
