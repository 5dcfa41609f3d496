import {
  Controller,
  Get,
  Headers,
  HttpCode,
  Inject,
  Param,
  Post,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiSecurity, ApiTags } from '@nestjs/swagger';
import { ApiAnswer, ApiBinaryAnswer } from '../openapi/openapi';

const manifest = {
  description: 'The manifest',
  schema: { $ref: '#/components/schemas/EfolderManifestBody' },
};
import type { FastifyReply } from 'fastify';
import type { Actor } from '@app/contracts';
import { ActorOf } from '../auth/actor';
import { RequireScopes } from '../auth/decorators';
import { EfolderErrorFilter } from './efolder-errors.filter';
import { EfolderService, fileNumberFrom, userFrom } from './efolder.service';

/**
 * eFolder Express v2, route for route, so its existing client can point at this gateway
 * unchanged. Callers name themselves with CSS-ID and STATION-ID and the veteran with
 * FILE-NUMBER; the key comes as X-Api-Key or `Authorization: Token token=<key>`.
 */
@ApiTags('efolder v2')
@ApiSecurity('api-key')
@ApiHeader({ name: 'CSS-ID', required: true })
@ApiHeader({ name: 'STATION-ID', required: true })
@RequireScopes('efolder')
@UseFilters(EfolderErrorFilter)
@Controller('api/v2')
export class EfolderController {
  constructor(@Inject(EfolderService) private readonly efolder: EfolderService) {}

  @Post('manifests')
  @HttpCode(200)
  @ApiHeader({ name: 'FILE-NUMBER', required: true })
  @ApiOperation({ summary: "Start or join the fetch of a veteran's manifest" })
  @ApiOkResponse(manifest)
  start(@Headers() h: Record<string, string | undefined>, @ActorOf() actor: Actor) {
    return this.efolder.start(fileNumberFrom(h), userFrom(h), actor);
  }

  @Get('manifests/history')
  @ApiOperation({ summary: "The caller's recent manifests" })
  @ApiOkResponse({
    description: 'The history',
    schema: { $ref: '#/components/schemas/EfolderHistoryBody' },
  })
  history(@Headers() h: Record<string, string | undefined>, @ActorOf() actor: Actor) {
    return this.efolder.history(userFrom(h), actor);
  }

  @Post('manifests/:id')
  @HttpCode(200)
  @ApiOperation({ summary: 'Force a refresh of both sources' })
  @ApiOkResponse(manifest)
  refresh(
    @Param('id') id: string,
    @Headers() h: Record<string, string | undefined>,
    @ActorOf() actor: Actor,
  ) {
    return this.efolder.refresh(id, userFrom(h), actor);
  }

  @Get('manifests/:id')
  @ApiOperation({ summary: 'Progress of a manifest this user asked for' })
  @ApiHeader({ name: 'If-None-Match', required: false })
  @ApiOkResponse(manifest)
  async get(
    @Param('id') id: string,
    @Headers() h: Record<string, string | undefined>,
    @ActorOf() actor: Actor,
    @Res() reply: FastifyReply,
  ) {
    await this.efolder.poll(id, userFrom(h), actor, h, reply);
  }

  @Post('manifests/:manifest_id/files_downloads')
  @HttpCode(200)
  @ApiOperation({ summary: 'Start downloading every document of the manifest' })
  @ApiOkResponse(manifest)
  startFiles(
    @Param('manifest_id') id: string,
    @Headers() h: Record<string, string | undefined>,
    @ActorOf() actor: Actor,
  ) {
    return this.efolder.startFilesDownload(id, userFrom(h), actor);
  }

  @Get('manifests/:manifest_id/files_downloads')
  @ApiOperation({ summary: 'Progress of the download of every document' })
  @ApiOkResponse(manifest)
  files(
    @Param('manifest_id') id: string,
    @Headers() h: Record<string, string | undefined>,
    @ActorOf() actor: Actor,
  ) {
    return this.efolder.filesDownload(id, userFrom(h), actor);
  }

  @Get('manifests/:manifest_id/zip')
  @ApiOperation({ summary: 'The downloaded documents as one zip, streamed' })
  @ApiBinaryAnswer('application/zip')
  zip(
    @Param('manifest_id') id: string,
    @Headers() h: Record<string, string | undefined>,
    @ActorOf() actor: Actor,
    @Res() reply: FastifyReply,
  ) {
    return this.efolder.streamZip(id, userFrom(h), actor, reply);
  }

  @Get('records/:version_id')
  @ApiOperation({ summary: 'One document, streamed' })
  @ApiBinaryAnswer('application/pdf', 'image/tiff', 'application/octet-stream')
  record(
    @Param('version_id') ref: string,
    @Headers() h: Record<string, string | undefined>,
    @ActorOf() actor: Actor,
    @Res() reply: FastifyReply,
  ) {
    return this.efolder.streamRecord(ref, userFrom(h), actor, reply);
  }

  @Get('document_counts')
  @ApiHeader({ name: 'FILE-NUMBER', required: true })
  @ApiOperation({ summary: "Number of documents in a veteran's file (cached)" })
  @ApiAnswer('manifest-cache.document-count.get.v1')
  documentCount(@Headers() h: Record<string, string | undefined>, @ActorOf() actor: Actor) {
    return this.efolder.documentCount(fileNumberFrom(h), userFrom(h), actor);
  }
}
