import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';

export interface ConnectionProbe {
  name: string;
  isConnected(): boolean;
}

/**
 * Reads the state of connections the app already holds. Terminus' own microservice check
 * opens a new broker connection per probe, which under frequent probes is load, not health.
 */
@Injectable()
export class BrokerHealthIndicator {
  constructor(private readonly indicator: HealthIndicatorService) {}

  check(key: string, probes: ConnectionProbe[]): HealthIndicatorResult {
    const session = this.indicator.check(key);
    const states = Object.fromEntries(probes.map((p) => [p.name, p.isConnected()]));
    return Object.values(states).every(Boolean)
      ? session.up(states)
      : session.down({ ...states, message: 'not connected to RabbitMQ' });
  }
}
