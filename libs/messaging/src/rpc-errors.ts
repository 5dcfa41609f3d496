import { RpcException } from '@nestjs/microservices';
import {
  type Actor,
  isActor,
  RPC_ERROR_STATUS,
  type RpcErrorBody,
  type RpcErrorCode,
} from '@app/contracts';

/** A domain error that crosses RabbitMQ as a typed body the gateway maps to HTTP. */
export function rpcError(
  code: RpcErrorCode,
  message: string,
  details?: Record<string, unknown>,
): RpcException {
  const body: RpcErrorBody = { code, message, status: RPC_ERROR_STATUS[code], details };
  return new RpcException(body);
}

/** Raised on the calling side when an RPC fails. */
export class RpcCallError extends Error {
  constructor(
    readonly body: RpcErrorBody,
    readonly pattern: string,
  ) {
    super(`${pattern}: ${body.message}`);
    this.name = 'RpcCallError';
  }
}

/** The request's actor (tenant and key), which every tenant-scoped RPC must carry. */
export function assertActor(actor: unknown): asserts actor is Actor {
  if (!isActor(actor))
    throw rpcError('validation_failed', 'the request carries no valid actor (tenant and key)', {
      field: 'actor',
    });
}
