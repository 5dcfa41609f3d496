import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  ServiceUnavailableException,
} from '@nestjs/common';
import { from, type Observable, switchMap } from 'rxjs';
import { currentContext } from '@app/observability';
import type { AuthedRequest } from './api-key.guard';
import { actorOf } from './actor';
import { ApiKeysRepository } from './api-keys.repository';

/**
 * Every read an operator makes across tenants is recorded before it runs: if the record
 * cannot be written, the read does not happen (503).
 */
@Injectable()
export class CrossTenantAudit implements NestInterceptor {
  constructor(private readonly repo: ApiKeysRepository) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    if (!req.caller || !actorOf(req).allTenants) return next.handle();
    const record = this.repo
      .recordCrossTenantRead({
        keyId: req.caller.keyId,
        callerId: req.caller.callerId,
        tenantId: req.caller.tenantId,
        method: req.method,
        path: req.url.split('?')[0],
        correlationId: currentContext()?.correlationId,
      })
      .catch(() => {
        throw new ServiceUnavailableException(
          'this read across tenants could not be audited, so it was not made; retry shortly',
        );
      });
    return from(record).pipe(switchMap(() => next.handle()));
  }
}
