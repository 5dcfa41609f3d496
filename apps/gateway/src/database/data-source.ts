import { createServiceDataSource } from '@app/database';
import type { DataSource } from 'typeorm';
import { migrations } from './migrations';

/** The gateway's schema (API keys, audit of cross-tenant reads). */
export const GATEWAY_SCHEMA = 'gateway';

export interface GatewayDbConfig {
  DATABASE_URL: string;
  DB_POOL_MAX: number;
  DB_CONNECT_TIMEOUT_MS: number;
}

/** The running gateway's pool: small, short statements (key look-ups, audit inserts). */
export function gatewayDataSource(c: GatewayDbConfig, purpose = 'gateway'): DataSource {
  return createServiceDataSource({
    url: c.DATABASE_URL,
    schema: GATEWAY_SCHEMA,
    applicationName: purpose,
    migrations,
    poolMax: c.DB_POOL_MAX,
    connectTimeoutMs: c.DB_CONNECT_TIMEOUT_MS,
    statementTimeoutMs: purpose === 'gateway' ? 5000 : 10 * 60 * 1000,
  });
}
