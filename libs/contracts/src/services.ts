/** The domain services, each one Nest app with one Postgres schema of the same name. */
export const SERVICES = [
  'manifest-cache',
  'upload-status',
  'form-copies',
  'pdf-workflow',
  'extraction',
] as const;

export type ServiceName = (typeof SERVICES)[number];

export function isServiceName(v: string): v is ServiceName {
  return (SERVICES as readonly string[]).includes(v);
}

/** Postgres schema of a service: its name with underscores. */
export function schemaOf(service: ServiceName): string {
  return service.replace(/-/g, '_');
}

/** Durable RPC queue of a service. */
/**
 * The service's RPC queue. `.v2`: the quorum-queue topology (a broker cannot change a queue's
 * type in place, so the quorum queues have names of their own; see the README's upgrade step).
 */
export function rpcQueueOf(service: ServiceName, prefix = ''): string {
  return `${prefix}${service}.rpc.v2`;
}

/** The one topic exchange all events are published to. */
export function eventsExchange(prefix = ''): string {
  return `${prefix}platform.events`;
}
