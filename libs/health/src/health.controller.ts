import { Controller, Get, Inject, ServiceUnavailableException, type Type } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TypeOrmHealthIndicator } from '@nestjs/terminus';
import type { HealthIndicatorFunction } from '@nestjs/terminus';
import { BrokerHealthIndicator, type ConnectionProbe } from './broker.indicator';

export const HEALTH_PROBES = Symbol('HEALTH_PROBES');

export interface HealthProbes {
  /** Connections whose state readiness reports. */
  broker: ConnectionProbe[];
  /** Whether a database ping is part of readiness (false for the gateway). */
  database: boolean;
  timeoutMs: number;
  /** While true, readiness answers 503 so load balancers move away before the app stops. */
  draining?: () => boolean;
}

/** Marks a route as reachable without a caller credential (the gateway honours it). */
export const PUBLIC_ROUTE = 'platform:public';

/**
 * `/health/live` checks nothing external: a process that is up answers, so a database
 * outage never makes Kubernetes restart healthy pods. `/health/ready` checks the database
 * (with a timeout) and the broker connections, and answers 503 when one is down.
 */
export function createHealthController(): Type<unknown> {
  @Controller('health')
  class HealthController {
    constructor(
      private readonly health: HealthCheckService,
      private readonly db: TypeOrmHealthIndicator,
      private readonly broker: BrokerHealthIndicator,
      @Inject(HEALTH_PROBES) private readonly probes: HealthProbes,
    ) {}

    @Get('live')
    live(): { status: 'ok' } {
      return { status: 'ok' };
    }

    @Get('ready')
    @HealthCheck()
    ready() {
      if (this.probes.draining?.())
        throw new ServiceUnavailableException({ status: 'error', info: { draining: true } });
      const checks: HealthIndicatorFunction[] = [
        () => this.broker.check('broker', this.probes.broker),
      ];
      if (this.probes.database) {
        checks.unshift(() => this.db.pingCheck('database', { timeout: this.probes.timeoutMs }));
      }
      return this.health.check(checks);
    }
  }
  Reflect.defineMetadata(PUBLIC_ROUTE, true, HealthController);
  return HealthController;
}
