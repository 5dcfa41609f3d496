import {
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
} from 'class-validator';
import { Type } from 'class-transformer';
import { TENANT_ID_PATTERN } from '@app/contracts';
import type { AuthedRequest } from '../auth/api-key.guard';
import {
  type ApiKeyPage,
  apiKeyView,
  ApiKeysRepository,
  type CrossTenantReadPage,
  type IssuedApiKey,
  KeyLimitError,
  KeyNotFoundError,
} from '../auth/api-keys.repository';
import { RequireScopes } from '../auth/decorators';
import { ManagedKeys } from '../auth/managed-keys';
import { unknownScope } from '../auth/scopes';
import { UuidParam } from '../http/input-limits';
import { RequestValidationError } from '../http/validation';

const CALLER_ID = /^[A-Za-z0-9_.-]{1,64}$/;
const DAY = 86_400;

export class CreateKeyBody {
  @Matches(TENANT_ID_PATTERN) tenantId!: string;
  @Matches(CALLER_ID) callerId!: string;
  @IsArray() @ArrayMinSize(1) @ArrayMaxSize(50) @IsString({ each: true }) scopes!: string[];
  /** Days until the key stops working; none: it works until revoked. */
  @IsOptional() @IsInt() @Min(1) @Max(3650) expiresInDays?: number;
}

export class RotateKeyBody {
  /** How long the old key keeps working beside the new one (default one day). */
  @IsOptional() @IsInt() @Min(0) @Max(30 * DAY) overlapSeconds?: number;
  @IsOptional() @IsInt() @Min(1) @Max(3650) expiresInDays?: number;
}

export class ListKeysQuery {
  @IsOptional() @Matches(TENANT_ID_PATTERN) tenantId?: string;
  @IsOptional() @Matches(CALLER_ID) callerId?: string;
}

export class AuditQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
  @IsOptional() @Matches(/^[1-9][0-9]{0,18}$/) before?: string;
}

export function checkScopes(scopes: string[]): void {
  const problems = scopes.map(unknownScope).filter((p): p is string => p !== null);
  if (problems.length)
    throw new RequestValidationError([{ field: 'scopes', messages: problems.slice(0, 5) }]);
}

const expiry = (days?: number) => (days ? new Date(Date.now() + days * DAY * 1000) : null);

/**
 * Managed API keys: created (the key is shown once), listed, rotated (two live keys per
 * caller during the change-over) and revoked; a change reaches every gateway replica
 * within the key cache's TTL. Also the audit of operators' reads across tenants.
 */
@ApiTags('admin')
@ApiSecurity('api-key')
@RequireScopes('platform:admin')
@Controller('api/v1/admin')
export class ApiKeysController {
  constructor(
    private readonly repo: ApiKeysRepository,
    private readonly managed: ManagedKeys,
  ) {}

  @Post('api-keys')
  @ApiOperation({
    summary: 'Create a key for a caller of a tenant; the key is in this answer only',
  })
  @ApiCreatedResponse({ schema: { $ref: '#/components/schemas/IssuedApiKey' } })
  async create(@Body() b: CreateKeyBody, @Req() req: AuthedRequest): Promise<IssuedApiKey> {
    checkScopes(b.scopes);
    const { key, row } = await this.limited(() =>
      this.repo.create({
        tenantId: b.tenantId,
        callerId: b.callerId,
        scopes: [...new Set(b.scopes)],
        expiresAt: expiry(b.expiresInDays),
        createdBy: req.caller!.keyId,
      }),
    );
    return { key, ...apiKeyView(row) };
  }

  @ApiOperation({ summary: 'Managed API keys (hashes never shown)' })
  @Get('api-keys')
  @ApiOkResponse({ schema: { $ref: '#/components/schemas/ApiKeyPage' } })
  list(@Query() q: ListKeysQuery): Promise<ApiKeyPage> {
    return this.repo.list(q).then((rows) => ({ data: rows.map((r) => apiKeyView(r)) }));
  }

  @ApiOperation({ summary: 'One managed API key' })
  @Get('api-keys/:id')
  @ApiOkResponse({ schema: { $ref: '#/components/schemas/ApiKeyView' } })
  async get(@Param('id', UuidParam) id: string) {
    const row = await this.repo.get(id);
    if (!row) throw new NotFoundException(`no API key ${id}`);
    return apiKeyView(row);
  }

  @Post('api-keys/:id/rotate')
  @ApiOperation({
    summary: 'A new key for the same caller; the old one keeps working for overlapSeconds',
  })
  @ApiCreatedResponse({ schema: { $ref: '#/components/schemas/RotatedApiKey' } })
  async rotate(
    @Param('id', UuidParam) id: string,
    @Body() b: RotateKeyBody,
    @Req() req: AuthedRequest,
  ) {
    const r = await this.limited(() =>
      this.repo.rotate(id, b.overlapSeconds ?? DAY, expiry(b.expiresInDays), req.caller!.keyId),
    );
    this.managed.invalidate();
    return { key: r.key, ...apiKeyView(r.row), replaced: apiKeyView(r.replaced) };
  }

  @Delete('api-keys/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a key: refused on every replica within the cache TTL' })
  @ApiOkResponse({ schema: { $ref: '#/components/schemas/ApiKeyView' } })
  async revoke(@Param('id', UuidParam) id: string) {
    const row = await this.repo.revoke(id);
    if (!row) throw new NotFoundException(`no API key ${id}`);
    this.managed.invalidate();
    return apiKeyView(row);
  }

  @Get('cross-tenant-reads')
  @ApiOperation({ summary: "Operators' reads across tenants, newest first" })
  @ApiOkResponse({ schema: { $ref: '#/components/schemas/CrossTenantReadPage' } })
  async reads(@Query() q: AuditQuery): Promise<CrossTenantReadPage> {
    const rows = await this.repo.crossTenantReads(q.limit ?? 100, q.before);
    return {
      data: rows.map((r) => ({
        id: r.id,
        at: r.at.toISOString(),
        keyId: r.key_id,
        callerId: r.caller_id,
        tenantId: r.tenant_id,
        method: r.method,
        path: r.path,
        correlationId: r.correlation_id,
      })),
    };
  }

  private async limited<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof KeyLimitError) throw new ConflictException(err.message);
      if (err instanceof KeyNotFoundError) throw new NotFoundException(err.message);
      throw err;
    }
  }
}
