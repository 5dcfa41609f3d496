/**
 * Errors cross RabbitMQ as plain objects of this shape, so the gateway can map them to
 * `application/problem+json` without knowing the service's classes.
 */
export interface RpcErrorBody {
  /** Stable machine code, e.g. `not_found`, `conflict`, `validation_failed`. */
  code: RpcErrorCode;
  message: string;
  /** HTTP status the gateway answers with. */
  status: number;
  details?: Record<string, unknown>;
}

export const RPC_ERROR_STATUS = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  gone: 410,
  precondition_failed: 412,
  unprocessable: 422,
  locked: 423,
  precondition_required: 428,
  rate_limited: 429,
  internal: 500,
  bad_gateway: 502,
  unavailable: 503,
  timeout: 504,
} as const;

export type RpcErrorCode = keyof typeof RPC_ERROR_STATUS;

export function isRpcErrorBody(v: unknown): v is RpcErrorBody {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o.code === 'string' && o.code in RPC_ERROR_STATUS && typeof o.message === 'string';
}
