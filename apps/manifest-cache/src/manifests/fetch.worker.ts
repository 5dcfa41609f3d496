import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { EventBus, Outbox, OutboxRelay } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { ManifestCacheConfig } from '../config';
import { type UpstreamDocument, UpstreamClient, UpstreamError } from '../upstream/upstream.client';
import { visibleDocuments } from './document-filter';
import { DocumentStore } from './document-store';
import { ManifestsRepository } from './manifests.repository';

const DOWNLOAD_BATCH = 25;

/**
 * Work taken from the service's own queue, shared by every replica: fetching one source's
 * document list, and downloading a manifest's documents into storage.
 */
@Injectable()
export class FetchWorker implements OnModuleInit {
  constructor(
    private readonly bus: EventBus,
    private readonly repo: ManifestsRepository,
    private readonly upstream: UpstreamClient,
    private readonly documents: DocumentStore,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    @Inject(SERVICE_CONFIG) private readonly config: ManifestCacheConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  onModuleInit(): void {
    this.bus.on('manifest-cache.source.fetch-requested.v1', (p) =>
      this.fetchSource(p.manifestSourceId, p.claimToken),
    );
    this.bus.on('manifest-cache.files.download-requested.v1', (p) =>
      this.downloadFiles(p.manifestId),
    );
  }

  /**
   * One upstream call per claim. An upstream failure marks the source failed and keeps its
   * previous records; it is not retried here, so one failure causes no second call.
   */
  async fetchSource(sourceId: string, claimToken: string): Promise<void> {
    const s = await this.repo.sourceToFetch(sourceId, claimToken);
    if (!s) return; // finished by someone else, or the claim moved on: nothing to do
    let listed: UpstreamDocument[];
    try {
      listed = await this.upstream.listVeteranDocuments(s.source, s.file_number);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      this.logger.warn(
        { manifestId: s.manifest_id, source: s.source, err: err.message },
        'source fetch failed',
      );
      await this.repo.ds.transaction(async (m) => {
        if (await this.repo.storeFailure(m, s, claimToken, err.message)) {
          await this.outbox.add(m, 'manifest-cache.source.failed.v1', {
            manifestId: s.manifest_id,
            fileNumber: s.file_number,
            source: s.source,
            error: err.message,
          });
        }
      });
      this.relay.kick();
      return;
    }
    const docs = this.usable(listed);
    const stored = await this.repo.ds.transaction(async (m) => {
      if (!(await this.repo.storeFetch(m, s, claimToken, docs))) return false;
      await this.outbox.add(m, 'manifest-cache.manifest.fetched.v1', {
        manifestId: s.manifest_id,
        fileNumber: s.file_number,
        source: s.source,
        documents: docs.length,
        fetchedAt: new Date().toISOString(),
      });
      return true;
    });
    if (stored) this.relay.kick();
    this.logger.info(
      { manifestId: s.manifest_id, source: s.source, documents: docs.length, stored },
      'source fetched',
    );
  }

  /** Downloads what is not stored yet, in batches written with one statement each. */
  async downloadFiles(manifestId: string): Promise<void> {
    const rows = await this.repo.recordsToDownload(manifestId);
    for (let i = 0; i < rows.length; i += DOWNLOAD_BATCH) {
      const results = await this.documents.download(rows.slice(i, i + DOWNLOAD_BATCH));
      await this.repo.storeRecordResults(results);
    }
    await this.repo.finishFilesDownload(manifestId);
    this.logger.info({ manifestId, documents: rows.length }, 'files download finished');
  }

  /** eFolder's DocumentFilter (restricted types and documents), one entry per document id. */
  private usable(docs: UpstreamDocument[]): UpstreamDocument[] {
    return visibleDocuments(docs, this.config.RESTRICTED_DOCUMENT_TYPES);
  }
}
