import {
  BadRequestException,
  Body,
  ConflictException,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Patch,
  Post,
  Put,
  Query,
  Req,
  Res,
  UseGuards,
} from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiBinaryAnswer } from '../openapi/openapi';
import { contentDisposition } from '../http/disposition';
import type { FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { type ExportView, type FileInput, PROVIDERS, type Provider } from '@app/contracts';
import type { BlobStorage } from '@app/storage';
import type { AuthedRequest } from '../auth/api-key.guard';
import { Public, RequireScopes } from '../auth/decorators';
import { PubSubPushGuard } from './pubsub-push.guard';
import {
  AddFileBody,
  AuthorizeQuery,
  CallbackQuery,
  CreateAutomationBody,
  CreateJobBody,
  CreateTemplateBody,
  ExportBody,
  FieldsBody,
  ListQuery,
  PubSubPushBody,
  StartRunBody,
  UpdateAutomationBody,
  UpdateJobBody,
} from './extraction.dto';
import { ServicesClient } from '../rpc';
import { UuidParam } from '../http/input-limits';
import { GATEWAY_STORAGE } from '../storage';
import { actorOf } from '../auth/actor';

function need<T>(v: T | null | undefined, field: string, source: string): T {
  if (v === undefined || v === null || v === '')
    throw new BadRequestException(`${field} is required for source ${source}`);
  return v;
}

/** Extraction jobs, their files and runs, results and exports. */
@ApiTags('extraction')
@ApiSecurity('api-key')
@Controller('api/v1')
export class ExtractionController {
  constructor(
    private readonly rpc: ServicesClient,
    @Inject(GATEWAY_STORAGE) private readonly storage: BlobStorage,
  ) {}

  @ApiOperation({ summary: 'The field types extraction knows' })
  @Get('data-types')
  @RequireScopes('extraction:read')
  dataTypes() {
    return this.rpc.send('extraction.data-type.list.v1', {});
  }

  @Post('templates')
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: 'Save a named set of fields that jobs can start from' })
  createTemplate(@Body() b: CreateTemplateBody, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.template.create.v1', { actor: actorOf(req), ...b });
  }

  @ApiOperation({ summary: 'Job templates' })
  @Get('templates')
  @RequireScopes('extraction:read')
  templates(@Req() req: AuthedRequest) {
    return this.rpc.send('extraction.template.list.v1', { actor: actorOf(req) });
  }

  @Post('extraction-jobs')
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: 'Create a job with the fields to extract' })
  createJob(@Body() b: CreateJobBody, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.job.create.v1', { actor: actorOf(req), ...b });
  }

  @ApiOperation({ summary: "The caller's extraction jobs" })
  @Get('extraction-jobs')
  @RequireScopes('extraction:read')
  listJobs(@Query() q: ListQuery, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.job.list.v1', { actor: actorOf(req), ...q });
  }

  @ApiOperation({ summary: 'One extraction job' })
  @Get('extraction-jobs/:id')
  @RequireScopes('extraction:read')
  getJob(@Param('id', UuidParam) id: string, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.job.get.v1', { actor: actorOf(req), id });
  }

  @Patch('extraction-jobs/:id')
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: "Set the job's engine or default currency; runs made keep theirs" })
  updateJob(
    @Param('id', UuidParam) id: string,
    @Body() b: UpdateJobBody,
    @Req() req: AuthedRequest,
  ) {
    return this.rpc.send('extraction.job.update.v1', { actor: actorOf(req), id, ...b });
  }

  @Put('extraction-jobs/:id/fields')
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: 'Replace the fields; runs already made keep theirs' })
  replaceFields(
    @Param('id', UuidParam) id: string,
    @Body() b: FieldsBody,
    @Req() req: AuthedRequest,
  ) {
    return this.rpc.send('extraction.job.fields.replace.v1', {
      actor: actorOf(req),
      id,
      fields: b.fields,
    });
  }

  @Post('extraction-jobs/:id/files')
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: 'Add a file: an upload, a Drive file or a Gmail attachment' })
  @ApiAnswer('extraction.file.add.v1', 'file')
  async addFile(
    @Param('id', UuidParam) jobId: string,
    @Body() b: AddFileBody,
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ) {
    let file: FileInput;
    if (b.source === 'upload') {
      const data = Buffer.from(need(b.contentBase64, 'contentBase64', 'upload'), 'base64');
      if (data.length === 0) throw new BadRequestException('contentBase64 holds no bytes');
      // Bytes go to storage, not through RabbitMQ; the service hashes and keeps them.
      const storageKey = `uploads/${randomUUID()}`;
      await this.storage.put(storageKey, data, 'application/pdf');
      file = {
        source: 'upload',
        fileName: need(b.fileName, 'fileName', 'upload'),
        contentType: 'application/pdf',
        storageKey,
      };
    } else if (b.source === 'gdrive') {
      file = {
        source: 'gdrive',
        accountId: need(b.accountId, 'accountId', 'gdrive'),
        fileId: need(b.fileId, 'fileId', 'gdrive'),
      };
    } else {
      file = {
        source: 'gmail',
        accountId: need(b.accountId, 'accountId', 'gmail'),
        messageId: need(b.messageId, 'messageId', 'gmail'),
        attachmentId: need(b.attachmentId, 'attachmentId', 'gmail'),
      };
    }
    const r = await this.rpc.send(
      'extraction.file.add.v1',
      { actor: actorOf(req), jobId, file },
      { timeoutMs: 60_000 },
    );
    // A file whose content the job already holds is not added twice.
    void reply.status(r.created ? 201 : 200);
    return r.file;
  }

  @ApiOperation({ summary: "A job's files" })
  @Get('extraction-jobs/:id/files')
  @RequireScopes('extraction:read')
  files(@Param('id', UuidParam) jobId: string, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.file.list.v1', { actor: actorOf(req), jobId });
  }

  @ApiOperation({ summary: 'Remove a file from a job' })
  @Delete('extraction-jobs/:id/files/:fileId')
  @HttpCode(204)
  @RequireScopes('extraction:write')
  async removeFile(
    @Param('id', UuidParam) jobId: string,
    @Param('fileId', UuidParam) fileId: string,
    @Req() req: AuthedRequest,
  ) {
    await this.rpc.send('extraction.file.remove.v1', { actor: actorOf(req), jobId, fileId });
  }

  @Post('extraction-jobs/:id/runs')
  @HttpCode(202)
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: 'Start a run: one task per file, worked off a queue' })
  startRun(
    @Param('id', UuidParam) jobId: string,
    @Req() req: AuthedRequest,
    @Body() b?: StartRunBody,
  ) {
    return this.rpc.send('extraction.run.start.v1', {
      actor: actorOf(req),
      jobId,
      ...(b?.engine ? { engine: b.engine } : {}),
    });
  }

  @ApiOperation({ summary: "A job's runs, newest first" })
  @Get('extraction-jobs/:id/runs')
  @RequireScopes('extraction:read')
  runs(@Param('id', UuidParam) jobId: string, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.run.list.v1', { actor: actorOf(req), jobId });
  }

  @ApiOperation({ summary: 'One run and its progress' })
  @Get('job-runs/:id')
  @RequireScopes('extraction:read')
  run(@Param('id', UuidParam) id: string, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.run.get.v1', { actor: actorOf(req), id });
  }

  @ApiOperation({ summary: "A run's extracted values" })
  @Get('job-runs/:id/results')
  @RequireScopes('extraction:read')
  results(@Param('id', UuidParam) id: string, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.run.results.v1', { actor: actorOf(req), id });
  }

  @Post('job-runs/:id/exports')
  @HttpCode(202)
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: 'Export a run as csv or xlsx to a download, Drive or Gmail' })
  createExport(
    @Param('id', UuidParam) runId: string,
    @Body() b: ExportBody,
    @Req() req: AuthedRequest,
  ) {
    return this.rpc.send('extraction.export.create.v1', { actor: actorOf(req), runId, ...b });
  }

  @ApiOperation({ summary: 'One export and its status' })
  @Get('job-exports/:id')
  @RequireScopes('extraction:read')
  @ApiOkResponse({ description: 'The export', schema: { $ref: '#/components/schemas/ExportView' } })
  async getExport(
    @Param('id', UuidParam) id: string,
    @Req() req: AuthedRequest,
  ): Promise<ExportView> {
    const e = await this.rpc.send('extraction.export.get.v1', { actor: actorOf(req), id });
    // The storage key and content type are for this gateway, not for callers.
    const { storageKey, contentType, ...view } = e;
    void storageKey;
    void contentType;
    return view;
  }

  @ApiOperation({ summary: 'Download a finished export (CSV or XLSX)' })
  @Get('job-exports/:id/download')
  @RequireScopes('extraction:read')
  @ApiBinaryAnswer('text/csv', 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
  async download(
    @Param('id', UuidParam) id: string,
    @Req() req: AuthedRequest,
    @Res() reply: FastifyReply,
  ) {
    const e = await this.rpc.send('extraction.export.get.v1', { actor: actorOf(req), id });
    if (e.status !== 'completed' || !e.storageKey)
      throw new ConflictException(`export is ${e.status}; download it when it has completed`);
    await reply
      .type(e.contentType)
      .header('content-disposition', contentDisposition('attachment', e.fileName ?? 'export'))
      .send(await this.storage.get(e.storageKey));
  }
}

/** Integration accounts (OAuth) and automations. */
@ApiTags('extraction integrations')
@ApiSecurity('api-key')
@Controller('api/v1')
export class IntegrationsController {
  constructor(private readonly rpc: ServicesClient) {}

  @Get('integrations/:provider/authorize')
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: 'Where to send the user to grant access, with a signed state' })
  authorize(
    @Param('provider') provider: string,
    @Query() q: AuthorizeQuery,
    @Req() req: AuthedRequest,
  ) {
    return this.rpc.send('extraction.oauth.authorize.v1', {
      actor: actorOf(req),
      provider: providerOf(provider),
      redirectUri: q.redirectUri,
    });
  }

  @Get('integrations/:provider/callback')
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: 'OAuth callback: exchanges the code and keeps the tokens, encrypted' })
  callback(
    @Param('provider') provider: string,
    @Query() q: CallbackQuery,
    @Req() req: AuthedRequest,
  ) {
    return this.rpc.send(
      'extraction.oauth.callback.v1',
      { actor: actorOf(req), provider: providerOf(provider), code: q.code, state: q.state },
      { timeoutMs: 30_000 },
    );
  }

  @ApiOperation({ summary: "The caller's connected Google accounts" })
  @Get('integration-accounts')
  @RequireScopes('extraction:read')
  accounts(@Req() req: AuthedRequest) {
    return this.rpc.send('extraction.account.list.v1', { actor: actorOf(req) });
  }

  @Delete('integration-accounts/:id')
  @RequireScopes('extraction:write')
  @ApiOperation({ summary: 'Disconnect: revoke at the provider and erase the tokens' })
  disconnect(@Param('id', UuidParam) id: string, @Req() req: AuthedRequest) {
    return this.rpc.send(
      'extraction.account.disconnect.v1',
      { actor: actorOf(req), id },
      { timeoutMs: 30_000 },
    );
  }

  @Post('integrations/google/gmail/push')
  @HttpCode(204)
  // Google's OIDC token is this route's credential, not an API key (Pub/Sub cannot send one).
  @Public()
  @UseGuards(PubSubPushGuard)
  @ApiOperation({
    summary: 'Gmail push notifications, as Pub/Sub push delivers them',
    description:
      "Authenticated by the OIDC identity token Pub/Sub sends in `Authorization: Bearer`: Google's signature, issuer, the configured audience and service account are checked.",
  })
  async push(@Body() b: PubSubPushBody) {
    let n: { emailAddress?: unknown; historyId?: unknown };
    try {
      n = JSON.parse(Buffer.from(b.message.data, 'base64').toString('utf8')) as typeof n;
    } catch {
      throw new BadRequestException('message.data is not base64 JSON');
    }
    if (typeof n?.emailAddress !== 'string' || !['string', 'number'].includes(typeof n.historyId))
      throw new BadRequestException('message.data must carry emailAddress and historyId');
    await this.rpc.send('extraction.gmail.push.v1', {
      emailAddress: n.emailAddress,
      historyId: String(n.historyId as string | number),
    });
  }

  @ApiOperation({ summary: 'Create an automation that runs a job on new files' })
  @Post('automations')
  @RequireScopes('extraction:write')
  createAutomation(@Body() b: CreateAutomationBody, @Req() req: AuthedRequest) {
    return this.rpc.send(
      'extraction.automation.create.v1',
      { actor: actorOf(req), ...b },
      { timeoutMs: 30_000 },
    );
  }

  @ApiOperation({ summary: "The caller's automations" })
  @Get('automations')
  @RequireScopes('extraction:read')
  automations(@Req() req: AuthedRequest) {
    return this.rpc.send('extraction.automation.list.v1', { actor: actorOf(req) });
  }

  @ApiOperation({ summary: 'One automation' })
  @Get('automations/:id')
  @RequireScopes('extraction:read')
  automation(@Param('id', UuidParam) id: string, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.automation.get.v1', { actor: actorOf(req), id });
  }

  @ApiOperation({ summary: 'Change an automation (enable, disable, filters)' })
  @Patch('automations/:id')
  @RequireScopes('extraction:write')
  updateAutomation(
    @Param('id', UuidParam) id: string,
    @Body() b: UpdateAutomationBody,
    @Req() req: AuthedRequest,
  ) {
    return this.rpc.send('extraction.automation.update.v1', { actor: actorOf(req), id, ...b });
  }

  @ApiOperation({ summary: 'What an automation ran' })
  @Get('automations/:id/runs')
  @RequireScopes('extraction:read')
  automationRuns(@Param('id', UuidParam) id: string, @Req() req: AuthedRequest) {
    return this.rpc.send('extraction.automation.runs.v1', { actor: actorOf(req), id });
  }
}

function providerOf(p: string): Provider {
  if (!(PROVIDERS as readonly string[]).includes(p))
    throw new BadRequestException(`provider must be one of ${PROVIDERS.join(', ')}`);
  return p as Provider;
}
