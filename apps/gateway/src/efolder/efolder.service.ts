import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import archiver from 'archiver';
import type { FastifyReply } from 'fastify';
import { once } from 'node:events';
import type { Logger } from 'pino';
import type { Actor, EfolderUser } from '@app/contracts';
import { LOGGER } from '@app/service-kit';
import type { BlobStorage } from '@app/storage';
import { ServicesClient } from '../rpc';
import { GATEWAY_STORAGE } from '../storage';
import { ManifestBodies, noneMatch } from './manifest-bodies';
import { contentDisposition } from '../http/disposition';

/** The user eFolder's client names, with eFolder's own messages (Api::V1::ApplicationController). */
export function userFrom(h: Record<string, string | undefined>): EfolderUser {
  const cssId = h['css-id']?.trim();
  const stationId = h['station-id']?.trim();
  if (!stationId) throw new BadRequestException('missing header: Station ID');
  if (!cssId) throw new BadRequestException('missing header: CSS ID');
  if (cssId.length > 64 || stationId.length > 16)
    throw new BadRequestException('CSS-ID or STATION-ID is too long');
  return { cssId, stationId };
}

/** The entity tag travels as a header, never in eFolder's body. */
function withoutEtag<T extends { etag?: string }>(v: T): Omit<T, 'etag'> {
  const rest: T = { ...v };
  delete rest.etag;
  return rest;
}

export function fileNumberFrom(h: Record<string, string | undefined>): string {
  const fn = h['file-number']?.trim();
  if (!fn) throw new BadRequestException('missing header: File Number');
  // eFolder's message (Api::V2::ApplicationController#invalid_file_number); the rule here is
  // stricter: a claim file number or SSN, 8 or 9 digits.
  if (!/^\d{8,9}$/.test(fn))
    throw new BadRequestException(
      'File number is invalid. Veteran IDs must be 8 or more characters and contain only numbers.',
    );
  return fn;
}

/**
 * Routes eFolder calls to manifest-cache over RPC. Bytes never cross RabbitMQ: the service
 * decides what may be read and where it is stored, and the gateway streams it from there.
 */
@Injectable()
export class EfolderService {
  constructor(
    private readonly rpc: ServicesClient,
    @Inject(GATEWAY_STORAGE) private readonly storage: BlobStorage,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(ManifestBodies) private readonly bodies: ManifestBodies,
  ) {}

  /**
   * The poll Caseflow makes every second: the view's entity tag first (one small RPC, one
   * index look-up); `304` when the caller has it, the body cached for that tag when this
   * replica has it; only a changed manifest is built again. `Cache-Control: no-cache` from
   * the caller skips the cache here too.
   */
  async poll(
    manifestId: string,
    user: EfolderUser,
    actor: Actor,
    h: Record<string, string | undefined>,
    reply: FastifyReply,
  ): Promise<void> {
    const fresh = /\bno-cache\b/i.test(h['cache-control'] ?? '');
    if (!fresh) {
      const { etag } = await this.rpc.send('manifest-cache.manifest.etag.v1', {
        manifestId,
        user,
        actor,
      });
      void reply.header('etag', etag).header('cache-control', 'private, no-cache');
      if (noneMatch(h['if-none-match'], etag)) return void reply.status(304).send();
      const cached = this.bodies.get(etag);
      if (cached) return void reply.type('application/json; charset=utf-8').send(cached);
    }
    const view = await this.rpc.send('manifest-cache.manifest.get.v1', { manifestId, user, actor });
    const { etag, ...data } = view;
    const body = Buffer.from(JSON.stringify({ data }));
    if (etag) this.bodies.set(etag, body);
    void reply.header('etag', etag).header('cache-control', 'private, no-cache');
    if (etag && noneMatch(h['if-none-match'], etag)) return void reply.status(304).send();
    return void reply.type('application/json; charset=utf-8').send(body);
  }

  async start(fileNumber: string, user: EfolderUser, actor: Actor) {
    return {
      data: withoutEtag(
        await this.rpc.send('manifest-cache.manifest.start.v1', { fileNumber, user, actor }),
      ),
    };
  }

  async refresh(manifestId: string, user: EfolderUser, actor: Actor) {
    return {
      data: withoutEtag(
        await this.rpc.send('manifest-cache.manifest.refresh.v1', { manifestId, user, actor }),
      ),
    };
  }

  async history(user: EfolderUser, actor: Actor) {
    return { data: await this.rpc.send('manifest-cache.manifest.history.v1', { user, actor }) };
  }

  async startFilesDownload(manifestId: string, user: EfolderUser, actor: Actor) {
    return {
      data: withoutEtag(
        await this.rpc.send('manifest-cache.files-download.start.v1', { manifestId, user, actor }),
      ),
    };
  }

  async filesDownload(manifestId: string, user: EfolderUser, actor: Actor) {
    return {
      data: withoutEtag(
        await this.rpc.send('manifest-cache.files-download.get.v1', { manifestId, user, actor }),
      ),
    };
  }

  async documentCount(fileNumber: string, user: EfolderUser, actor: Actor) {
    return this.rpc.send('manifest-cache.document-count.get.v1', { fileNumber, user, actor });
  }

  async streamRecord(
    ref: string,
    user: EfolderUser,
    actor: Actor,
    reply: FastifyReply,
  ): Promise<void> {
    // Fetching a document from its source on first request can take a while.
    const c = await this.rpc.send(
      'manifest-cache.record.content.v1',
      { recordId: ref, user, actor },
      { timeoutMs: 60_000 },
    );
    const body = await this.storage.get(c.key);
    await reply
      .type(c.mimeType)
      .header('content-length', c.size)
      .header('x-document-source', c.source)
      // As eFolder's records controller: an attachment, cached 30 days by anyone.
      .header('cache-control', 'max-age=2592000, public')
      .header('content-disposition', contentDisposition('attachment', c.filename))
      .send(body);
  }

  /**
   * Streams the zip entry by entry, opening one stored document at a time, so memory stays
   * flat whatever the file's size. Zip64 is used by the archiver when sizes need it.
   */
  async streamZip(
    manifestId: string,
    user: EfolderUser,
    actor: Actor,
    reply: FastifyReply,
  ): Promise<void> {
    const plan = await this.rpc.send('manifest-cache.zip.plan.v1', { manifestId, user, actor });
    const zip = archiver('zip', { store: true });
    zip.on('warning', (err) => this.logger.warn({ err, manifestId }, 'zip warning'));
    zip.on('error', (err) => {
      this.logger.error({ err, manifestId }, 'zip stream failed');
      reply.raw.destroy(err);
    });
    void reply
      .type('application/zip')
      .header('content-disposition', contentDisposition('attachment', plan.filename))
      .send(zip);
    for (const e of plan.entries) {
      if (reply.raw.destroyed) break;
      zip.append(await this.storage.get(e.key), { name: e.name });
      await once(zip, 'entry');
    }
    await zip.finalize();
  }
}
