import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Patch,
  PayloadTooLargeException,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiBinaryAnswer, ApiRequestContent } from '../openapi/openapi';
import { contentDisposition } from '../http/disposition';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBase64,
  IsBoolean,
  IsEmail,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import type { MultipartFile } from '@fastify/multipart';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { GatewayConfig } from '../config';
import {
  type ClientInfo,
  RECIPIENT_TYPES,
  type RecipientType,
  type StoredFile,
  type WorkflowStatus,
  isWorkflowUploadKey,
  workflowUploadPrefix,
} from '@app/contracts';
import type { BlobStorage } from '@app/storage';
import type { AuthedRequest } from '../auth/api-key.guard';
import { Public, RequireScopes } from '../auth/decorators';
import { GATEWAY_STORAGE } from '../storage';
import { ServicesClient } from '../rpc';
import { accessCodeHeader, UuidParam } from '../http/input-limits';
import { RequestValidationError } from '../http/validation';
import type { Actor } from '@app/contracts';
import { ActorOf } from '../auth/actor';

export class RecipientBody {
  @IsIn(RECIPIENT_TYPES) type!: RecipientType;
  @IsString() @MaxLength(200) name!: string;
  @IsOptional() @IsEmail() email?: string;
  @IsOptional() @Matches(/^\+?[0-9 ()-]{6,20}$/) phone?: string;
  @IsArray() @IsString({ each: true }) @ArrayMaxSize(200) fields!: string[];
  @IsOptional() @IsBoolean() accessCode?: boolean;
}

export class CreateWorkflowBody {
  /** The PDF, base64; or a key of a PDF already in storage. */
  @IsOptional() @IsString() @IsBase64() pdfBase64?: string;
  @IsOptional() @IsString() @MaxLength(500) documentKey?: string;
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(20)
  @ValidateNested({ each: true })
  @Type(() => RecipientBody)
  recipients!: RecipientBody[];
  @IsOptional() @IsInt() @Min(1) @Max(2160) expiresInHours?: number;
  @IsOptional() @IsObject() metadata?: Record<string, unknown>;
}

export class ListWorkflowsQuery {
  @IsOptional() @IsIn(['ACTIVE', 'COMPLETED', 'CANCELLED', 'EXPIRED']) status?: WorkflowStatus;
  @IsOptional() @IsString() @MaxLength(100) creatorId?: string;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) limit?: number;
  @IsOptional() @IsString() @MaxLength(512) cursor?: string;
}

export class ExtendBody {
  @IsInt() @Min(1) @Max(2160) hours!: number;
}

export class FormDataBody {
  @IsObject() formData!: Record<string, unknown>;
}

export class AttachmentBody {
  @IsString() @MaxLength(255) fileName!: string;
  @IsString() @MaxLength(100) contentType!: string;
  @IsString() @IsBase64() dataBase64!: string;
}

export function clientOf(req: AuthedRequest): ClientInfo {
  const ua = req.headers['user-agent'];
  return { ip: req.ip ?? null, userAgent: typeof ua === 'string' ? ua : null };
}

async function stream(
  storage: BlobStorage,
  reply: FastifyReply,
  f: StoredFile,
  disposition: 'inline' | 'attachment',
) {
  const body = await storage.get(f.key);
  await reply
    .type(f.fileType)
    .header('content-disposition', contentDisposition(disposition, f.fileName))
    .send(body);
}

/** Creators and operators: workflows behind an API key. */
@ApiTags('pdf-workflow')
@ApiSecurity('api-key')
@Controller('api/v1/workflows')
export class WorkflowsController {
  constructor(
    private readonly rpc: ServicesClient,
    @Inject(GATEWAY_STORAGE) private readonly storage: BlobStorage,
  ) {}

  @Post()
  @RequireScopes('workflows:write')
  @ApiOperation({ summary: 'Create a workflow; the answer carries each recipient link, once' })
  async create(@Body() b: CreateWorkflowBody, @Req() req: AuthedRequest, @ActorOf() actor: Actor) {
    // A caller names only keys of its own upload namespace, never another service's blobs.
    const own = workflowUploadPrefix(actor.tenantId, actor.callerId);
    let documentKey = b.documentKey;
    if (documentKey !== undefined && !isWorkflowUploadKey(documentKey, own))
      throw new RequestValidationError([
        { field: 'documentKey', messages: [`documentKey must be one of your uploads (${own}…)`] },
      ]);
    if (b.pdfBase64) {
      // Bytes go to storage, not through RabbitMQ; the service reads and checks them there.
      documentKey = `${own}${randomUUID()}.pdf`;
      await this.storage.put(documentKey, Buffer.from(b.pdfBase64, 'base64'), 'application/pdf');
    }
    if (!documentKey) throw new BadRequestException('pdfBase64 or documentKey is required');
    return this.rpc.send(
      'pdf-workflow.workflow.create.v1',
      {
        actor,
        documentKey,
        recipients: b.recipients,
        expiresInHours: b.expiresInHours,
        metadata: b.metadata,
        client: clientOf(req),
      },
      { timeoutMs: 30_000 },
    );
  }

  @ApiOperation({ summary: "The caller's workflows, newest first" })
  @Get()
  @RequireScopes('workflows:read')
  list(@Query() q: ListWorkflowsQuery, @ActorOf() actor: Actor) {
    return this.rpc.send('pdf-workflow.workflow.list.v1', { ...q, actor });
  }

  @ApiOperation({ summary: "Counts of the caller's workflows by status" })
  @Get('stats')
  @RequireScopes('workflows:read')
  stats(@ActorOf() actor: Actor) {
    return this.rpc.send('pdf-workflow.workflow.stats.v1', { actor });
  }

  @ApiOperation({ summary: 'One workflow with its recipients and their progress' })
  @Get(':id')
  @RequireScopes('workflows:read')
  get(@Param('id', UuidParam) id: string, @ActorOf() actor: Actor) {
    return this.rpc.send('pdf-workflow.workflow.get.v1', { actor, id });
  }

  @ApiOperation({ summary: 'Cancel an active workflow' })
  @Post(':id/cancel')
  @HttpCode(200)
  @RequireScopes('workflows:write')
  cancel(@Param('id', UuidParam) id: string, @Req() req: AuthedRequest, @ActorOf() actor: Actor) {
    return this.rpc.send('pdf-workflow.workflow.cancel.v1', { actor, id, client: clientOf(req) });
  }

  @ApiOperation({ summary: "Extend an active workflow's expiry" })
  @Post(':id/extend')
  @HttpCode(200)
  @RequireScopes('workflows:write')
  extend(
    @Param('id', UuidParam) id: string,
    @Body() b: ExtendBody,
    @Req() req: AuthedRequest,
    @ActorOf() actor: Actor,
  ) {
    return this.rpc.send('pdf-workflow.workflow.extend.v1', {
      actor,
      id,
      hours: b.hours,
      client: clientOf(req),
    });
  }

  @Post(':id/resend')
  @HttpCode(200)
  @RequireScopes('workflows:write')
  @ApiOperation({
    summary:
      "Send the current recipient's link again, with a new access code (lifts a lock after wrong codes)",
  })
  resend(@Param('id', UuidParam) id: string, @Req() req: AuthedRequest, @ActorOf() actor: Actor) {
    return this.rpc.send('pdf-workflow.workflow.resend.v1', { actor, id, client: clientOf(req) });
  }

  @ApiOperation({ summary: "The workflow's audit trail" })
  @Get(':id/audit')
  @RequireScopes('workflows:read')
  audit(@Param('id', UuidParam) id: string, @ActorOf() actor: Actor) {
    return this.rpc.send('pdf-workflow.workflow.audit.v1', { actor, id });
  }

  @ApiOperation({
    summary: 'The filled, flattened result of a completed workflow',
  })
  @Get(':id/document')
  @RequireScopes('workflows:read')
  @ApiBinaryAnswer('application/pdf')
  async document(
    @Param('id', UuidParam) id: string,
    @Req() req: AuthedRequest,
    @ActorOf() actor: Actor,
    @Res() reply: FastifyReply,
  ) {
    const f = await this.rpc.send('pdf-workflow.workflow.document.v1', {
      actor,
      id,
      client: clientOf(req),
    });
    void reply.header('x-content-sha256', f.sha256);
    await stream(this.storage, reply, f, 'attachment');
  }

  @ApiOperation({ summary: 'One attachment a recipient added' })
  @Get(':id/attachments/:attachmentId')
  @RequireScopes('workflows:read')
  @ApiBinaryAnswer('application/pdf', 'image/png', 'image/jpeg')
  async attachment(
    @Param('id', UuidParam) id: string,
    @Param('attachmentId', UuidParam) attachmentId: string,
    @Req() req: AuthedRequest,
    @ActorOf() actor: Actor,
    @Res() reply: FastifyReply,
  ) {
    await stream(
      this.storage,
      reply,
      await this.rpc.send('pdf-workflow.attachment.download.v1', {
        actor,
        id,
        attachmentId,
        client: clientOf(req),
      }),
      'attachment',
    );
  }
}

/**
 * Recipients: no API key, only their link (and, where the creator asked, the access code sent
 * through the other channel). Rate limited per client address like every keyless request.
 */
@ApiTags('pdf-workflow recipients')
@Public()
@Controller('api/v1/r/:token')
export class RecipientLinksController {
  constructor(
    private readonly rpc: ServicesClient,
    @Inject(GATEWAY_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: GatewayConfig,
  ) {}

  private link(token: string, code: string | undefined, req: AuthedRequest) {
    const accessCode = accessCodeHeader(code);
    return { token, ...(accessCode ? { accessCode } : {}), client: clientOf(req) };
  }

  @ApiOperation({ summary: "What a recipient's link shows: their fields and the workflow's state" })
  @Get()
  open(
    @Param('token') token: string,
    @Headers('x-access-code') code: string | undefined,
    @Req() req: AuthedRequest,
  ) {
    return this.rpc.send('pdf-workflow.recipient.open.v1', this.link(token, code, req));
  }

  @ApiOperation({ summary: 'The PDF as the recipient sees it' })
  @Get('document')
  @ApiBinaryAnswer('application/pdf')
  async document(
    @Param('token') token: string,
    @Headers('x-access-code') code: string | undefined,
    @Req() req: AuthedRequest,
    @Res() reply: FastifyReply,
  ) {
    await stream(
      this.storage,
      reply,
      await this.rpc.send('pdf-workflow.recipient.document.v1', this.link(token, code, req)),
      'inline',
    );
  }

  @ApiOperation({ summary: "Save the recipient's answers (validated against the form)" })
  @Patch('form-data')
  save(
    @Param('token') token: string,
    @Body() b: FormDataBody,
    @Headers('x-access-code') code: string | undefined,
    @Req() req: AuthedRequest,
  ) {
    return this.rpc.send('pdf-workflow.recipient.save.v1', {
      ...this.link(token, code, req),
      formData: b.formData,
    });
  }

  @ApiOperation({ summary: 'Add an attachment as the recipient' })
  @Post('attachments')
  async attach(
    @Param('token') token: string,
    @Body() b: AttachmentBody,
    @Headers('x-access-code') code: string | undefined,
    @Req() req: AuthedRequest,
  ) {
    const key = `attachments/${randomUUID()}`;
    await this.storage.put(key, Buffer.from(b.dataBase64, 'base64'), b.contentType);
    return this.rpc.send('pdf-workflow.recipient.attach.v1', {
      ...this.link(token, code, req),
      fileName: b.fileName,
      fileType: b.contentType,
      key,
    });
  }

  @ApiOperation({
    summary:
      'Add an attachment as the recipient, streamed: multipart/form-data with one part "file" (its filename and Content-Type are the attachment\'s)',
  })
  @Post('attachments/upload')
  @ApiRequestContent({
    'multipart/form-data': {
      schema: {
        type: 'object',
        required: ['file'],
        properties: { file: { type: 'string', format: 'binary' } },
      },
    },
  })
  async upload(
    @Param('token') token: string,
    @Headers('x-access-code') code: string | undefined,
    @Req() req: AuthedRequest,
  ) {
    const r = req as unknown as FastifyRequest;
    const bad = (why: string) => new RequestValidationError([{ field: 'file', messages: [why] }]);
    if (!r.isMultipart()) throw bad('send multipart/form-data with one part named "file"');
    let part: MultipartFile | undefined;
    try {
      part = await r.file();
    } catch (err) {
      throw bad((err as Error).message);
    }
    if (!part || part.fieldname !== 'file') throw bad('send one part named "file"');
    const key = `attachments/${randomUUID()}`;
    const max = this.config.ATTACHMENT_MAX_BYTES;
    try {
      await this.storage.put(key, part.file, part.mimetype);
    } catch (err) {
      await this.storage.delete(key).catch(() => undefined);
      if (part.file.truncated || (err as { code?: string }).code === 'FST_REQ_FILE_TOO_LARGE')
        throw new PayloadTooLargeException(`attachments may be at most ${max} bytes`);
      throw err;
    }
    if (part.file.truncated) {
      await this.storage.delete(key).catch(() => undefined);
      throw new PayloadTooLargeException(`attachments may be at most ${max} bytes`);
    }
    return this.rpc.send('pdf-workflow.recipient.attach.v1', {
      ...this.link(token, code, req),
      fileName: part.filename,
      fileType: part.mimetype,
      key,
    });
  }

  @ApiOperation({ summary: "Finish the recipient's turn" })
  @Post('complete')
  @HttpCode(200)
  complete(
    @Param('token') token: string,
    @Headers('x-access-code') code: string | undefined,
    @Req() req: AuthedRequest,
  ) {
    return this.rpc.send('pdf-workflow.recipient.complete.v1', this.link(token, code, req));
  }
}
