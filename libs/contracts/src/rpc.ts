import type { ExtractionRpc } from './extraction';
import type { FormCopiesRpc } from './form-copies';
import type { PdfWorkflowRpc } from './pdf-workflow';
import type { ManifestCacheRpc } from './manifest-cache';
import type { UploadStatusRpc } from './upload-status';
import type { ServiceName } from './services';

/** What every service answers about itself. */
export interface ServiceStatus {
  service: ServiceName;
  version: string;
  uptimeSeconds: number;
  database: { reachable: boolean; schema: string; latencyMs?: number; error?: string };
  migrations: { applied: string[]; pending: string[] };
  broker: { connected: boolean };
}

export interface OutboxEventView {
  id: string;
  eventName: string;
  createdAt: string;
  publishedAt: string | null;
  attempts: number;
  lastError: string | null;
}

type Empty = Record<string, never>;

/**
 * RPC patterns `<service>.<aggregate>.<verb>.v1` with their request and response types.
 * A client can only send a pattern listed here, with that pattern's request type.
 */
export type RpcContracts = {
  [S in ServiceName as `${S}.status.get.v1`]: { request: Empty; response: ServiceStatus };
} & {
  [S in ServiceName as `${S}.outbox-event.get.v1`]: {
    request: { id: string };
    response: OutboxEventView;
  };
} & ManifestCacheRpc &
  UploadStatusRpc &
  FormCopiesRpc &
  PdfWorkflowRpc &
  ExtractionRpc;

export type RpcPattern = Extract<keyof RpcContracts, string>;
export type RpcRequest<P extends RpcPattern> = RpcContracts[P]['request'];
export type RpcResponse<P extends RpcPattern> = RpcContracts[P]['response'];

export const rpcPatterns = {
  status: <S extends ServiceName>(s: S) => `${s}.status.get.v1` as const,
  outboxEvent: <S extends ServiceName>(s: S) => `${s}.outbox-event.get.v1` as const,
};

/** The service a pattern belongs to (its first segment). */
export function serviceOfPattern(pattern: RpcPattern): ServiceName {
  return pattern.slice(0, pattern.indexOf('.')) as ServiceName;
}

/** Every RPC's response type, by pattern (the gateway's OpenAPI response schemas come from it). */
export type RpcResponses = { [P in RpcPattern]: RpcResponse<P> };
