import { isUuid } from '@app/contracts';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type {
  EfolderUser,
  ManifestHistoryItem,
  ManifestView,
  StoredContent,
  ZipPlan,
} from '@app/contracts';
import { Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { ManifestCacheConfig } from '../config';
import type { VeteranRecord } from '../upstream/bgs.client';
import { type Access, UpstreamClient, UpstreamError } from '../upstream/upstream.client';
import { DocumentStore } from './document-store';
import { visibleDocuments } from './document-filter';
import { ManifestsRepository, type TenantUser } from './manifests.repository';
import { zipEntryName, zipFileName } from './zip-names';

const FILE_NUMBER = /^\d{8,9}$/;

@Injectable()
export class ManifestsService {
  constructor(
    private readonly repo: ManifestsRepository,
    private readonly upstream: UpstreamClient,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly documents: DocumentStore,
    @Inject(SERVICE_CONFIG) private readonly config: ManifestCacheConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /**
   * Starts or joins the fetch of a veteran's manifest. Sources that are fresh are served
   * from the cache; the others are claimed (once, whatever the concurrency) and queued.
   */
  async start(fileNumber: string, user: TenantUser, force = false): Promise<ManifestView> {
    assertFileNumber(fileNumber);
    assertUser(user);
    const veteran = await this.assertAccess(fileNumber, user);
    // eFolder keeps the manifest under BGS's file number for the veteran, whichever of their
    // numbers was asked for (Api::V2::ApplicationController#verify_veteran_file_number).
    const canonical =
      veteran.fileNumber && FILE_NUMBER.test(veteran.fileNumber) ? veteran.fileNumber : fileNumber;
    const manifestId = await this.repo.ensureManifest(canonical);
    await this.repo.storeVeteran(manifestId, veteran);
    await this.claimAndQueue(manifestId, user, force ? 'refreshed' : 'requested', force);
    return this.view(manifestId, user);
  }

  async refresh(manifestId: string, user: TenantUser): Promise<ManifestView> {
    const fileNumber = await this.ownedFileNumber(manifestId, user);
    await this.assertAccess(fileNumber, user);
    await this.claimAndQueue(manifestId, user, 'refreshed', true);
    return this.view(manifestId, user);
  }

  async get(manifestId: string, user: TenantUser): Promise<ManifestView> {
    await this.ownedFileNumber(manifestId, user);
    return this.view(manifestId, user);
  }

  /** What a poll costs when nothing changed: the entity tag of this user's view. */
  async etag(manifestId: string, user: TenantUser): Promise<{ etag: string }> {
    assertUser(user);
    const etag = isUuid(manifestId) ? await this.repo.etag(manifestId, user) : null;
    if (!etag) throw rpcError('not_found', `no manifest ${manifestId} for this user`);
    return { etag };
  }

  history(user: TenantUser): Promise<ManifestHistoryItem[]> {
    assertUser(user);
    return this.repo.history(user, 100);
  }

  async startFilesDownload(manifestId: string, user: TenantUser): Promise<ManifestView> {
    const fileNumber = await this.ownedFileNumber(manifestId, user);
    await this.assertAccess(fileNumber, user);
    await this.repo.ds.transaction(async (m) => {
      if (await this.repo.startFilesDownload(m, manifestId)) {
        await this.outbox.add(m, 'manifest-cache.files.download-requested.v1', { manifestId });
      }
      await this.repo.recordUserAction(m, manifestId, user, 'files_download');
    });
    this.relay.kick();
    return this.view(manifestId, user);
  }

  async zipPlan(manifestId: string, user: TenantUser): Promise<ZipPlan> {
    await this.ownedFileNumber(manifestId, user);
    const [names, rows] = await Promise.all([
      this.repo.manifestNames(manifestId),
      this.repo.zipEntries(manifestId),
    ]);
    if (!names) throw rpcError('not_found', `no manifest ${manifestId}`);
    if (rows.length === 0)
      throw rpcError('not_found', 'no documents of this manifest have been downloaded yet');
    await this.repo.recordUserAction(this.repo.ds, manifestId, user, 'zip_downloaded');
    return {
      filename: zipFileName(names),
      entries: rows.map((r, i) => ({
        name: zipEntryName(i, r),
        key: r.storage_key!,
        size: Number(r.content_size),
      })),
    };
  }

  /** One document's stored content, fetched from its source on first request. */
  async content(recordRef: string, user: TenantUser): Promise<StoredContent> {
    assertUser(user);
    const r = await this.repo.findRecord(recordRef);
    // As eFolder: an unknown record is a 404, one of a manifest this user never asked for
    // a 403 (Api::V2::RecordsController#validate_access).
    if (!r) throw rpcError('not_found', 'A record with that ID was not found in our systems.');
    if (!(await this.repo.userHasManifest(r.manifest_id, user)))
      throw rpcError('forbidden', 'sensitive record');
    await this.assertAccess(r.file_number, user);
    let key = r.status === 'success' ? r.storage_key : null;
    let size = Number(r.content_size ?? 0);
    const stored = key !== null;
    if (!key) {
      const [result] = await this.documents.download([r]);
      await this.repo.storeRecordResults([result]);
      await this.repo.refreshZipSize(r.manifest_id);
      if (result.status !== 'success')
        throw rpcError(
          'bad_gateway',
          `${r.source} could not deliver document ${r.external_document_id}`,
        );
      key = result.storage_key!;
      size = result.size ?? 0;
    }
    await this.repo.recordUserAction(this.repo.ds, r.manifest_id, user, 'document_viewed');
    return {
      key,
      mimeType: r.mime_type ?? 'application/octet-stream',
      size,
      // eFolder names S3 when it serves a document from its store, the source on first fetch.
      source: stored ? 'S3' : r.source,
      filename: zipEntryName(0, r).slice(5),
    };
  }

  async documentCount(fileNumber: string, user: TenantUser): Promise<{ documents: number }> {
    assertFileNumber(fileNumber);
    assertUser(user);
    await this.assertAccess(fileNumber, user);
    const cached = await this.repo.cachedCount(
      fileNumber,
      this.config.DOCUMENT_COUNT_CACHE_SECONDS,
    );
    if (cached !== null) return { documents: cached };
    try {
      // As eFolder's DocumentCounter: each source's listing through the DocumentFilter,
      // unique document ids, summed (a bare count would include what users never see).
      const numbers = await this.upstream.veteranFileNumbers(fileNumber);
      const lists = await Promise.all([
        this.upstream.listVeteranDocuments('VBMS', fileNumber, numbers),
        this.upstream.listVeteranDocuments('VVA', fileNumber, numbers),
      ]);
      const documents = lists.reduce(
        (n, l) => n + visibleDocuments(l, this.config.RESTRICTED_DOCUMENT_TYPES).length,
        0,
      );
      await this.repo.storeCount(fileNumber, documents);
      return { documents };
    } catch (err) {
      throw rpcError('bad_gateway', (err as Error).message);
    }
  }

  private async claimAndQueue(
    manifestId: string,
    user: TenantUser,
    action: 'requested' | 'refreshed',
    force: boolean,
  ): Promise<void> {
    const claimed = await this.repo.ds.transaction(async (m) => {
      const sources = await this.repo.claimSources(m, manifestId, {
        force,
        expirySeconds: this.config.MANIFEST_EXPIRY_SECONDS,
        failedRetrySeconds: this.config.FAILED_SOURCE_RETRY_SECONDS,
        claimSeconds: this.config.FETCH_CLAIM_SECONDS,
      });
      for (const s of sources) {
        await this.outbox.add(m, 'manifest-cache.source.fetch-requested.v1', {
          manifestSourceId: s.id,
          claimToken: s.claim_token,
        });
      }
      await this.repo.recordUserAction(m, manifestId, user, action);
      return sources;
    });
    if (claimed.length > 0) {
      this.logger.info(
        { manifestId, sources: claimed.map((s) => s.source) },
        'queued source fetches',
      );
      this.relay.kick();
    }
  }

  private async view(manifestId: string, user: TenantUser): Promise<ManifestView> {
    const v = await this.repo.view(manifestId, user);
    if (!v) throw rpcError('not_found', `no manifest ${manifestId}`);
    return { id: v.id, type: 'manifest', attributes: v.attributes, etag: v.etag };
  }

  /** The manifest's file number, if this user has asked for it; otherwise not found. */
  private async ownedFileNumber(manifestId: string, user: TenantUser): Promise<string> {
    assertUser(user);
    const fileNumber = isUuid(manifestId)
      ? await this.repo.ownedFileNumber(manifestId, user)
      : null;
    if (!fileNumber) throw rpcError('not_found', `no manifest ${manifestId} for this user`);
    return fileNumber;
  }

  /**
   * BGS's answer for this user, with eFolder's words (Api::V2::ApplicationController
   * #fetch_veteran_by_file_number): sensitive and POA-denied files are 403, an unknown
   * veteran is 400.
   */
  private async assertAccess(fileNumber: string, user: TenantUser): Promise<VeteranRecord> {
    let access: Access;
    try {
      access = await this.upstream.authorize(fileNumber, user);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      throw rpcError('bad_gateway', `veteran look-up failed: ${err.message}`);
    }
    switch (access.kind) {
      case 'allowed':
        return access.record;
      case 'sensitive':
        throw rpcError('forbidden', 'sensitive record');
      case 'poa_denied':
        throw rpcError(
          'forbidden',
          'This efolder belongs to a Veteran you do not represent. Please contact your supervisor.',
        );
      case 'not_found':
        throw rpcError(
          'validation_failed',
          `eFolder Express could not find an eFolder with the Veteran ID ${fileNumber}. Check to make sure you entered the ID correctly and try again.`,
          { field: 'FILE-NUMBER' },
        );
    }
  }
}

function assertFileNumber(fileNumber: unknown): asserts fileNumber is string {
  if (typeof fileNumber !== 'string' || !FILE_NUMBER.test(fileNumber)) {
    throw rpcError('validation_failed', 'FILE-NUMBER must be 8 or 9 digits', {
      field: 'FILE-NUMBER',
    });
  }
}

function assertUser(user: EfolderUser | undefined): void {
  if (!user?.cssId) throw rpcError('validation_failed', 'CSS-ID is required', { field: 'CSS-ID' });
  if (!user.stationId)
    throw rpcError('validation_failed', 'STATION-ID is required', { field: 'STATION-ID' });
}
