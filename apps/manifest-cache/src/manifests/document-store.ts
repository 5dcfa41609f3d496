import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { BlobStorage } from '@app/storage';
import type { ManifestCacheConfig } from '../config';
import { UpstreamClient } from '../upstream/upstream.client';
import type { RecordResult, RecordRow } from './manifests.repository';

export const BLOB_STORAGE = Symbol('BLOB_STORAGE');

/** Copies documents from their source into blob storage, a few at a time. */
@Injectable()
export class DocumentStore {
  constructor(
    private readonly upstream: UpstreamClient,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: ManifestCacheConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Downloads every record given; a failure marks that record failed and the rest go on. */
  async download(records: RecordRow[]): Promise<RecordResult[]> {
    const results: RecordResult[] = new Array<RecordResult>(records.length);
    let next = 0;
    const worker = async () => {
      while (next < records.length) {
        const i = next++;
        results[i] = await this.one(records[i]);
      }
    };
    await Promise.all(
      Array.from({ length: Math.min(this.config.DOWNLOAD_CONCURRENCY, records.length) }, worker),
    );
    return results;
  }

  private async one(r: RecordRow): Promise<RecordResult> {
    const key = `manifests/${r.manifest_id}/${r.id}`;
    try {
      const body = await this.upstream.content(r.source, {
        externalDocumentId: r.external_document_id,
        seriesId: r.series_id,
        fileNumber: r.file_number,
        jro: r.jro,
        contentRef: r.content_ref,
      });
      const stored = await this.storage.put(key, body, r.mime_type ?? undefined);
      return {
        id: r.id,
        status: 'success',
        storage_key: key,
        sha256: stored.sha256,
        size: stored.size,
      };
    } catch (err) {
      this.logger.warn(
        { record: r.id, source: r.source, err: (err as Error).message },
        'document download failed',
      );
      return { id: r.id, status: 'failed', storage_key: null, sha256: null, size: null };
    }
  }
}
