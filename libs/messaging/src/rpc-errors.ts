import { RpcException } from '@nestjs/microservices';
import { RPC_ERROR_STATUS, type RpcErrorBody, type RpcErrorCode } from '@app/contracts';

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
