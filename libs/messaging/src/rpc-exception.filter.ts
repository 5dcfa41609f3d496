import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  type RpcExceptionFilter,
} from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import type { Logger } from 'pino';
import { type Observable, throwError } from 'rxjs';
import { isRpcErrorBody, RPC_ERROR_STATUS, type RpcErrorBody } from '@app/contracts';
import { DEADLINE_PASSED, DeadlinePassedError, isRepeatedRequest, REPEATED } from './rpc-requests';

/** SQLSTATE class 22 ("data exception"): a value Postgres refuses, i.e. the caller's input. */
function postgresDataException(err: unknown): { code: string; message: string } | null {
  const e = err as { driverError?: { code?: unknown; message?: unknown }; code?: unknown };
  const code = e?.driverError?.code ?? e?.code;
  if (typeof code !== 'string' || !/^22[0-9A-Z]{3}$/.test(code)) return null;
  const message = e?.driverError?.message ?? (err as Error).message;
  return { code, message: typeof message === 'string' ? message : 'invalid value' };
}

/** The one mapping of what a handler throws to what crosses the broker. */
export function toRpcErrorBody(err: unknown, pattern: string, logger: Logger): RpcErrorBody {
  if (err instanceof RpcException) {
    const body = err.getError();
    if (isRpcErrorBody(body)) return { ...body, status: RPC_ERROR_STATUS[body.code] };
  }
  // Handled by WriteOnce: a repeat of a handled request, a write nobody waits for.
  if (isRepeatedRequest(err))
    return {
      code: 'conflict',
      status: RPC_ERROR_STATUS.conflict,
      message: 'this request was handled already',
      details: { [REPEATED]: true },
    };
  if (err instanceof DeadlinePassedError)
    return {
      code: 'timeout',
      status: RPC_ERROR_STATUS.timeout,
      message: err.message,
      details: { [DEADLINE_PASSED]: true },
    };
  const data = postgresDataException(err);
  if (data) {
    // A value a service should have checked reached the database; say so, but as a 400.
    logger.warn({ pattern, sqlstate: data.code, err: data.message }, 'RPC refused by Postgres');
    return {
      code: 'validation_failed',
      status: RPC_ERROR_STATUS.validation_failed,
      message: `a value in the request is not valid: ${data.message.slice(0, 300)}`,
    };
  }
  // Anything else is our bug: the stack stays in this service's log, the caller gets a 500.
  logger.error({ err, pattern }, 'RPC handler failed');
  return { code: 'internal', status: RPC_ERROR_STATUS.internal, message: 'internal error' };
}

/**
 * Every service's RPC handlers answer through this filter: typed domain errors keep their
 * code, Postgres data exceptions become 400, everything else a logged `500 internal`
 * (Nest's default would send `{ status: 'error' }`, which no caller can read).
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  /**
   * `http`: where errors of the app's own HTTP routes (health, metrics) go. A connected
   * microservice inherits the app's global filters (it cannot have its own once connected),
   * so this one filter sees both.
   */
  constructor(
    private readonly logger: Logger,
    private readonly http?: ExceptionFilter,
  ) {}

  catch(err: unknown, host: ArgumentsHost): Observable<never> {
    if (host.getType() !== 'rpc') {
      this.http?.catch(err, host);
      return undefined as never;
    }
    const ctx = host.switchToRpc().getContext<{ getPattern?: () => string }>();
    const pattern = String(ctx.getPattern?.() ?? '');
    const body = toRpcErrorBody(err, pattern, this.logger);
    return throwError(() => body);
  }
}
