import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { Actor } from '@app/contracts';
import type { AuthedRequest } from './api-key.guard';
import { ADMIN_SCOPE, hasScope } from './api-keys';

const READS = new Set(['GET', 'HEAD']);

/**
 * Who a request acts for: its key's tenant and id. A `platform:admin` key reads across
 * tenants (and the gateway audits that read); it never writes outside its own tenant.
 */
export function actorOf(req: AuthedRequest): Actor {
  const caller = req.caller;
  // The guard has run: every route that takes an actor needs a key.
  if (!caller) throw new Error('actorOf on a request without a caller');
  const allTenants = READS.has(req.method) && hasScope(caller, ADMIN_SCOPE);
  return {
    tenantId: caller.tenantId,
    callerId: caller.callerId,
    keyId: caller.keyId,
    ...(allTenants ? { allTenants } : {}),
  };
}

/** The handler's `Actor`, for the RPC it sends. */
export const ActorOf = createParamDecorator((_: unknown, ctx: ExecutionContext) =>
  actorOf(ctx.switchToHttp().getRequest<AuthedRequest>()),
);
