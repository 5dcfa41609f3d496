import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
  ServiceUnavailableException,
  UnauthorizedException,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { PUBLIC_ROUTE } from '@app/health';
import { type Caller, hasScope } from './api-keys';
import { SCOPES } from './decorators';

export type AuthedRequest = FastifyRequest & {
  caller?: Caller;
  /** A key was presented but the managed key store could not be read. */
  keyStoreUnavailable?: boolean;
};

/** Every route but the public ones (health) needs a key in `X-Api-Key` with the route's scopes. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(ctx: ExecutionContext): boolean {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    // The caller was resolved from X-Api-Key by the authentication hook.
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const caller = req.caller;
    if (!caller && req.keyStoreUnavailable)
      throw new ServiceUnavailableException('the API key store cannot be reached; retry shortly');
    if (!caller)
      throw new UnauthorizedException('a valid API key is required in the X-Api-Key header');
    const required = this.reflector.getAllAndOverride<string[]>(SCOPES, targets) ?? [];
    const missing = required.filter((s) => !hasScope(caller, s));
    if (missing.length > 0) {
      throw new ForbiddenException(`this API key lacks the scope ${missing.join(', ')}`);
    }
    return true;
  }
}
