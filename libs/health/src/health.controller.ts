import { Controller, Get, Inject, ServiceUnavailableException, type Type } from '@nestjs/common';
import {
  HealthCheck,
  HealthCheckError,
  HealthCheckService,
  TypeOrmHealthIndicator,
} from '@nestjs/terminus';
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
  /**
   * The committed migrations the database lacks: a pod of a new release is not ready until
   * the release's migration has run (its code may read columns that do not exist yet).
   */
  pendingMigrations?: () => Promise<string[]>;
}

/** Marks a route as reachable without a caller credential (the gateway honours it). */
export const PUBLIC_ROUTE = 'platform:public';

/**
 * `/health/live` checks nothing external: a process that is up answers, so a database
 * outage never makes Kubernetes restart healthy pods. `/health/ready` checks the database
 * (with a timeout), the broker connections and (for services) that no committed migration
 * is pending, and answers 503 when one is not so.
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

    private migrated = false;

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
      const pending = this.probes.pendingMigrations;
      if (pending && !this.migrated) {
        checks.push(async () => {
          const names = await pending();
          if (names.length)
            throw new HealthCheckError('migrations pending', {
              migrations: { status: 'down', pending: names },
            });
          // Migrations are never taken back: once up to date, always up to date.
          this.migrated = true;
          return { migrations: { status: 'up' } };
        });
      }
      return this.health.check(checks);
    }
  }
  Reflect.defineMetadata(PUBLIC_ROUTE, true, HealthController);
  return HealthController;
}
