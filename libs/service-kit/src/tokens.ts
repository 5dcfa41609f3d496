import type { ServiceName } from '@app/contracts';

export const SERVICE_CONFIG = Symbol('SERVICE_CONFIG');
export const SERVICE_INFO = Symbol('SERVICE_INFO');
export const LOGGER = Symbol('LOGGER');
export const MESSAGING_METRICS = Symbol('MESSAGING_METRICS');

export interface ServiceInfo {
  service: ServiceName;
  schema: string;
  version: string;
  startedAt: Date;
}
