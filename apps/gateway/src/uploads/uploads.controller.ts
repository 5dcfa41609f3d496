import { Body, Controller, Get, Param, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiTags,
} from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDateString,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import type { FastifyReply } from 'fastify';
import {
  DOCUMENT_TYPES,
  type DocumentType,
  UPLOAD_STATUSES,
  type UploadStatus,
} from '@app/contracts';
import { RequireScopes } from '../auth/decorators';
import { ServicesClient } from '../rpc';
import { UuidParam } from '../http/input-limits';
import type { Actor } from '@app/contracts';
import { ActorOf } from '../auth/actor';

export class RecordUploadBody {
  @IsString()
  @MaxLength(64)
  form526SubmissionId!: string;

  /** Lighthouse's int64 request id, as a number or a string of digits. */
  @Matches(/^[1-9]\d{0,18}$/, { message: 'lighthouseRequestId must be a positive 64-bit integer' })
  @Type(() => String)
  lighthouseRequestId!: string;

  @IsIn(DOCUMENT_TYPES)
  documentType!: DocumentType;

  @IsOptional()
  @IsString()
  @MaxLength(64)
  formAttachmentId?: string;

  @IsOptional()
  @IsDateString()
  uploadedAt?: string;
}

export class ListUploadsQuery {
  @IsOptional()
  @IsString()
  @MaxLength(64)
  form526SubmissionId?: string;

  @IsOptional()
  @IsIn(UPLOAD_STATUSES)
  status?: UploadStatus;

  @IsOptional()
  @IsIn(DOCUMENT_TYPES)
  documentType?: DocumentType;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;

  @IsOptional()
  @IsString()
  @MaxLength(512)
  cursor?: string;
}

export class DocumentStatusQuery {
  /** Comma-separated form attachment ids the submission has. */
  @IsOptional()
  @IsString()
  @MaxLength(4096)
  formAttachmentIds?: string;
}

/** A response schema generated from the contracts' types (npm run openapi:sync). */
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

@ApiTags('upload-status')
@ApiSecurity('api-key')
@Controller('api/v1')
export class UploadsController {
  constructor(private readonly rpc: ServicesClient) {}

  @Post('document-uploads')
  @RequireScopes('uploads:write')
  @ApiOperation({
    summary: 'Record an upload by its Lighthouse request id (201 new, 200 already recorded)',
  })
  @ApiCreatedResponse({ description: 'Recorded', schema: ref('UploadView') })
  @ApiOkResponse({ description: 'Already recorded (the same upload)', schema: ref('UploadView') })
  async record(
    @Body() body: RecordUploadBody,
    @ActorOf() actor: Actor,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    const res = await this.rpc.send('upload-status.upload.record.v1', { ...body, actor });
    void reply.status(res.created ? 201 : 200);
    return res.upload;
  }

  @Get('document-uploads')
  @RequireScopes('uploads:read')
  @ApiOperation({ summary: 'Uploads, newest first, filtered, with cursor pagination' })
  @ApiOkResponse({ description: 'A page of uploads', schema: ref('UploadPage') })
  list(@Query() q: ListUploadsQuery, @ActorOf() actor: Actor) {
    return this.rpc.send('upload-status.upload.list.v1', { ...q, actor });
  }

  @Get('document-uploads/:id')
  @RequireScopes('uploads:read')
  @ApiOperation({ summary: 'One upload with its transition history' })
  @ApiOkResponse({ description: 'The upload', schema: ref('UploadView') })
  get(@Param('id', UuidParam) id: string, @ActorOf() actor: Actor) {
    return this.rpc.send('upload-status.upload.get.v1', { actor, id });
  }

  @Get('form526-submissions/:id/document-status')
  @RequireScopes('uploads:read')
  @ApiOperation({
    summary: "A submission's uploads by type, overall state, and whether the claim can proceed",
  })
  @ApiOkResponse({ description: 'The submission', schema: ref('SubmissionDocumentStatus') })
  submission(@Param('id') id: string, @Query() q: DocumentStatusQuery, @ActorOf() actor: Actor) {
    const formAttachmentIds =
      q.formAttachmentIds
        ?.split(',')
        .map((s) => s.trim())
        .filter(Boolean) ?? [];
    return this.rpc.send('upload-status.submission.document-status.v1', {
      actor,
      form526SubmissionId: id,
      formAttachmentIds,
    });
  }
}
