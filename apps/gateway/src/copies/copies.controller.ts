import {
  Body,
  Controller,
  Delete,
  Get,
  ForbiddenException,
  Headers,
  HttpCode,
  HttpException,
  Param,
  Patch,
  Post,
  Put,
  Req,
  Res,
} from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiRequestContent } from '../openapi/openapi';
import {
  IsBoolean,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import type { FastifyReply } from 'fastify';
import type { Actor, CopyCaller, CopyView, Located, PatchKind } from '@app/contracts';
import { RpcCallError } from '@app/messaging';
import type { AuthedRequest } from '../auth/api-key.guard';
import { hasScope } from '../auth/api-keys';
import { RequireScopes } from '../auth/decorators';
import { ServicesClient } from '../rpc';
import { leaseTokenHeader, UuidParam } from '../http/input-limits';
import { RequestValidationError } from '../http/validation';
import { ActorOf } from '../auth/actor';

export class CreateFormBody {
  @IsOptional() @IsUUID() id?: string;
  /** Optional: the tenant is the API key's; a different one is a 403. */
  @IsOptional() @IsString() @MaxLength(100) tenantId?: string;
  @IsString() @MaxLength(100) ownerId!: string;
  @IsOptional() @IsString() @MaxLength(200) title?: string;
  @IsOptional() @IsObject() document?: Record<string, unknown>;
}
export class CreateCopyBody {
  @IsOptional() @IsString() @MaxLength(200) title?: string;
  @IsOptional() @IsString() @MaxLength(100) ownerId?: string;
  @IsOptional() @IsObject() document?: Record<string, unknown>;
}
export class DuplicateBody {
  @IsOptional() @IsString() @MaxLength(200) title?: string;
}
export class CloneBody {
  @IsOptional() @IsString() @MaxLength(100) targetTenantId?: string;
  @IsOptional() @IsUUID() copyId?: string;
  @IsOptional() @IsString() @MaxLength(100) ownerId?: string;
}
export class LeaseBody {
  @IsString() @MaxLength(200) holder!: string;
  @IsInt() @Min(1) @Max(300) ttlSeconds!: number;
}
export class RenewBody {
  @IsInt() @Min(1) @Max(300) ttlSeconds!: number;
}
export class FlagsBody {
  @IsBoolean() copies!: boolean;
}

const etag = (version: number) => `"${version}"`;

const ENTITY_TAG = /^(W\/)?"?(\d{1,9})"?$/;

/**
 * If-Match (RFC 9110 §13.1.1) to what the service compares: `*` (any current version), or
 * the listed versions. Comparison is strong, so a weak tag (`W/"7"`) never matches: a list
 * of only weak tags is a 412 here. Absent is undefined (428); a malformed tag is a 400.
 */
function version(ifMatch: string | undefined): number[] | '*' | undefined {
  if (ifMatch === undefined || ifMatch.trim() === '') return undefined;
  if (ifMatch.trim() === '*') return '*';
  const tags = ifMatch.split(',').map((t) => ENTITY_TAG.exec(t.trim()));
  if (tags.some((m) => !m))
    throw new RequestValidationError([
      { field: 'If-Match', messages: ['If-Match must be the ETag of the copy, e.g. "3", or *'] },
    ]);
  const strong = tags.filter((m) => !m![1]).map((m) => Number(m![2]));
  if (strong.length === 0)
    throw new HttpException(
      'a weak entity tag never matches: If-Match uses strong comparison',
      412,
    );
  return strong;
}

/**
 * Cloning into another tenant is an explicit grant on the key: `copies:clone-to:<tenant>`,
 * named, never implied by `*` (a development key reaches no other tenant either).
 */
function hasCloneGrant(req: AuthedRequest, tenant: string): boolean {
  return !!req.caller?.scopes.includes(`copies:clone-to:${tenant}`);
}

function caller(req: AuthedRequest, leaseToken?: string): CopyCaller {
  const token = leaseTokenHeader(leaseToken, false);
  return {
    sensitive: !!req.caller && hasScope(req.caller, 'copies:sensitive'),
    ...(token ? { leaseToken: token } : {}),
  };
}

/**
 * The copies namespace. The copy's version is its ETag; writes need If-Match (428 without,
 * 412 when stale). An application form id stands for its latest touched copy, and the copy
 * used is named in Content-Location.
 */
@ApiTags('form-copies')
@ApiSecurity('api-key')
@Controller('api/v1')
export class CopiesController {
  constructor(private readonly rpc: ServicesClient) {}

  @Post('application-forms')
  @RequireScopes('copies:write')
  @ApiOperation({
    summary: "Register an application form (with its default copy when the owner's flag is on)",
  })
  createForm(@Body() b: CreateFormBody, @ActorOf() actor: Actor) {
    return this.rpc.send('form-copies.application-form.create.v1', { ...b, actor });
  }

  @ApiOperation({ summary: 'Create a working copy of an application form' })
  @Post('application-forms/:id/copies')
  @RequireScopes('copies:write')
  @ApiAnswer('form-copies.copy.create.v1')
  async createCopy(
    @Param('id', UuidParam) id: string,
    @Body() b: CreateCopyBody,
    @Req() req: AuthedRequest,
    @ActorOf() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const copy = await this.rpc.send('form-copies.copy.create.v1', {
      actor,
      applicationFormId: id,
      ...b,
      caller: caller(req),
    });
    void reply.header('etag', etag(copy.version)).header('location', `/api/v1/copies/${copy.id}`);
    return copy;
  }

  @ApiOperation({ summary: "The form's working copies" })
  @Get('application-forms/:id/copies')
  @RequireScopes('copies:read')
  list(@Param('id', UuidParam) id: string, @ActorOf() actor: Actor) {
    return this.rpc.send('form-copies.copy.list.v1', { actor, applicationFormId: id });
  }

  @Post('application-forms/:id/clone')
  @RequireScopes('copies:write')
  @ApiOperation({
    summary:
      "Clone a form; into another tenant only with the key's grant `copies:clone-to:<tenant>`",
  })
  clone(
    @Param('id', UuidParam) id: string,
    @Body() b: CloneBody,
    @Req() req: AuthedRequest,
    @ActorOf() actor: Actor,
  ) {
    const target = b.targetTenantId;
    if (target !== undefined && target !== actor.tenantId && !hasCloneGrant(req, target))
      throw new ForbiddenException(
        `this API key has no grant to clone into tenant ${target} (scope copies:clone-to:${target})`,
      );
    return this.rpc.send('form-copies.application-form.clone.v1', { ...b, id, actor });
  }

  @ApiOperation({
    summary:
      'One working copy, its ETag the version (sensitive answers redacted without copies:sensitive)',
  })
  @Get('copies/:id')
  @RequireScopes('copies:read')
  @ApiAnswer('form-copies.copy.get.v1', 'value')
  async get(
    @Param('id', UuidParam) id: string,
    @Req() req: AuthedRequest,
    @ActorOf() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.located(
      reply,
      await this.rpc.send('form-copies.copy.get.v1', { actor, id, caller: caller(req) }),
    );
  }

  @Patch('copies/:id')
  @RequireScopes('copies:write')
  @ApiOperation({
    summary:
      'application/json-patch+json (RFC 6902) or application/merge-patch+json (RFC 7396); needs If-Match',
  })
  @ApiRequestContent({
    'application/json-patch+json': {
      schema: {
        type: 'array',
        items: {
          type: 'object',
          required: ['op', 'path'],
          properties: {
            op: { type: 'string', enum: ['add', 'remove', 'replace', 'move', 'copy', 'test'] },
            path: { type: 'string', description: 'A JSON Pointer (RFC 6901)' },
            from: { type: 'string' },
            value: {},
          },
        },
      },
      example: [{ op: 'replace', path: '/applicant/name', value: 'Łukasz Wiśniewski' }],
    },
    'application/merge-patch+json': {
      schema: { type: 'object' },
      example: { applicant: { name: 'Ελένη' } },
    },
  })
  @ApiOkResponse({ description: 'The patched copy; its new version is the ETag' })
  @ApiAnswer('form-copies.copy.patch.v1', 'value')
  async patch(
    @Param('id', UuidParam) id: string,
    @Body() body: unknown,
    @Headers('content-type') contentType: string | undefined,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('lease-token') leaseToken: string | undefined,
    @Req() req: AuthedRequest,
    @ActorOf() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const kind: PatchKind = contentType?.startsWith('application/merge-patch+json')
      ? 'merge-patch'
      : 'json-patch';
    return this.located(
      reply,
      await this.write(reply, () =>
        this.rpc.send('form-copies.copy.patch.v1', {
          actor,
          id,
          kind,
          patch: body,
          ifMatch: version(ifMatch),
          caller: caller(req, leaseToken),
        }),
      ),
    );
  }

  @ApiOperation({ summary: 'Soft-delete a copy (needs If-Match)' })
  @Delete('copies/:id')
  @HttpCode(204)
  @RequireScopes('copies:write')
  async remove(
    @Param('id', UuidParam) id: string,
    @Headers('if-match') ifMatch: string | undefined,
    @Headers('lease-token') leaseToken: string | undefined,
    @Req() req: AuthedRequest,
    @ActorOf() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const r = await this.write(reply, () =>
      this.rpc.send('form-copies.copy.delete.v1', {
        actor,
        id,
        ifMatch: version(ifMatch),
        caller: caller(req, leaseToken),
      }),
    );
    void reply.header('content-location', `/api/v1/copies/${r.copyId}`);
  }

  @ApiOperation({ summary: 'Duplicate a copy into a new one' })
  @Post('copies/:id/duplicate')
  @RequireScopes('copies:write')
  @ApiAnswer('form-copies.copy.duplicate.v1')
  async duplicate(
    @Param('id', UuidParam) id: string,
    @Body() b: DuplicateBody,
    @Req() req: AuthedRequest,
    @ActorOf() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const copy = await this.rpc.send('form-copies.copy.duplicate.v1', {
      actor,
      id,
      title: b.title,
      caller: caller(req),
    });
    void reply
      .status(201)
      .header('etag', etag(copy.version))
      .header('location', `/api/v1/copies/${copy.id}`);
    return copy;
  }

  @Post('copies/:id/lease')
  @RequireScopes('copies:write')
  @ApiOperation({
    summary: 'Take a lease (TTL up to 300 s) with a fencing token; writers without it get 423',
  })
  @ApiAnswer('form-copies.lease.acquire.v1', 'value')
  async lease(
    @Param('id', UuidParam) id: string,
    @Body() b: LeaseBody,
    @ActorOf() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.located(
      reply,
      await this.rpc.send('form-copies.lease.acquire.v1', { ...b, id, actor }),
      false,
    );
  }

  @ApiOperation({ summary: "Take or renew the copy's write lease" })
  @Put('copies/:id/lease')
  @RequireScopes('copies:write')
  @ApiAnswer('form-copies.lease.renew.v1', 'value')
  async renew(
    @Param('id', UuidParam) id: string,
    @Body() b: RenewBody,
    @Headers('lease-token') token: string | undefined,
    @ActorOf() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    return this.located(
      reply,
      await this.rpc.send('form-copies.lease.renew.v1', {
        actor,
        id,
        token: leaseTokenHeader(token, true)!,
        ttlSeconds: b.ttlSeconds,
      }),
      false,
    );
  }

  @ApiOperation({ summary: "Release the copy's write lease" })
  @Delete('copies/:id/lease')
  @HttpCode(204)
  @RequireScopes('copies:write')
  async release(
    @Param('id', UuidParam) id: string,
    @Headers('lease-token') token: string | undefined,
    @ActorOf() actor: Actor,
  ): Promise<void> {
    await this.rpc.send('form-copies.lease.release.v1', {
      actor,
      id,
      token: leaseTokenHeader(token, true)!,
    });
  }

  @ApiOperation({ summary: "Set an owner's feature flags" })
  @Put('owners/:ownerId/feature-flags')
  @RequireScopes('copies:admin')
  setFlags(@Param('ownerId') ownerId: string, @Body() b: FlagsBody, @ActorOf() actor: Actor) {
    return this.rpc.send('form-copies.feature-flags.set.v1', {
      actor,
      ownerId,
      copies: b.copies,
    });
  }

  @ApiOperation({ summary: "An owner's feature flags" })
  @Get('owners/:ownerId/feature-flags')
  @RequireScopes('copies:read')
  getFlags(@Param('ownerId') ownerId: string, @ActorOf() actor: Actor) {
    return this.rpc.send('form-copies.feature-flags.get.v1', { actor, ownerId });
  }

  private located<T>(reply: FastifyReply, r: Located<T>, withEtag = true): T {
    void reply.header('content-location', `/api/v1/copies/${r.copyId}`);
    const v = (r.value as Partial<CopyView>).version;
    if (withEtag && typeof v === 'number') void reply.header('etag', etag(v));
    return r.value;
  }

  /** A stale write's 412 carries the current version as ETag, so the caller can re-read. */
  private async write<T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      const current =
        err instanceof RpcCallError
          ? (err.body.details as { currentVersion?: number } | undefined)?.currentVersion
          : undefined;
      if (typeof current === 'number') void reply.header('etag', etag(current));
      throw err;
    }
  }
}
