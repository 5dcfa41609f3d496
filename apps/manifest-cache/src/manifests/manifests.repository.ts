import { type Actor, isUuid, readScope } from '@app/contracts';
import { Injectable } from '@nestjs/common';
import { assertActor } from '@app/messaging';
import {
  AVERAGE_DOWNLOAD_SECONDS,
  efolderTime,
  timeToComplete,
  ZIP_EXPIRY_HOURS,
} from './efolder-time';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type {
  EfolderUser,
  ManifestAttributes,
  ManifestHistoryItem,
  ManifestSourceName,
} from '@app/contracts';
import type { VeteranRecord } from '../upstream/bgs.client';
import type { UpstreamDocument } from '../upstream/upstream.client';

export interface ClaimedSource {
  id: string;
  source: ManifestSourceName;
  claim_token: string;
}

export interface SourceToFetch {
  id: string;
  source: ManifestSourceName;
  manifest_id: string;
  file_number: string;
}

export interface RecordRow {
  id: string;
  manifest_id: string;
  file_number: string;
  source: ManifestSourceName;
  status: string;
  external_document_id: string;
  series_id: string | null;
  version_id: string | null;
  content_ref: Record<string, string | null> | null;
  mime_type: string | null;
  type_description: string | null;
  received_at: Date | null;
  jro: string | null;
  storage_key: string | null;
  content_size: string | null;
}

export interface RecordResult {
  id: string;
  status: 'success' | 'failed';
  storage_key: string | null;
  sha256: string | null;
  size: number | null;
}

export type UserAction =
  'requested' | 'refreshed' | 'files_download' | 'document_viewed' | 'zip_downloaded';

/**
 * The manifest's eFolder attributes built by Postgres in one statement: sources with their
 * document counts and every record, so a read is one round trip however large the file.
 */
/** This user's zip expiry (`mm/dd`), from their last request for the files ($2-$4: user). */
const ZIP_EXPIRATION_SQL = `(
      SELECT to_char((max(u.created_at) + interval '${ZIP_EXPIRY_HOURS} hours') AT TIME ZONE 'UTC', 'MM/DD')
        FROM user_manifests u
       WHERE u.manifest_id = m.id AND u.action = 'files_download'
         AND u.css_id = $2 AND u.station_id = $3 AND ($4::text IS NULL OR u.tenant_id = $4))`;

/**
 * The view's entity tag: the manifest, its version (moved by triggers on every change of the
 * manifest, its sources and records) and what is this user's own in it (the zip's expiry).
 */
const ETAG_SQL = `'"' || m.id || '.' || m.version || '.' || coalesce(replace(${ZIP_EXPIRATION_SQL}, '/', ''), '-') || '"'`;

const ATTRIBUTES_SQL = (withRecords: boolean) => `
  json_build_object(
    'veteran_first_name', m.veteran_first_name,
    'veteran_last_name', m.veteran_last_name,
    'file_number', m.file_number,
    'created_at', ${efolderTime('m.created_at')},
    'updated_at', ${efolderTime('m.updated_at')},
    'fetched_files_at', ${efolderTime('m.fetched_files_at')},
    'zipfile_size', m.zipfile_size,
    'fetched_files_status', m.files_status,
    'sources', (
      SELECT coalesce(json_agg(json_build_object(
               'source', s.source, 'status', s.status, 'fetched_at', ${efolderTime('s.fetched_at')},
               'number_of_documents', (SELECT count(*) FROM records r WHERE r.manifest_source_id = s.id))
             ORDER BY s.source), '[]'::json)
        FROM manifest_sources s WHERE s.manifest_id = m.id),
    'number_successful_documents', (
      SELECT count(*) FROM records r JOIN manifest_sources s ON s.id = r.manifest_source_id
       WHERE s.manifest_id = m.id AND r.status = 'success'),
    'number_failed_documents', (
      SELECT count(*) FROM records r JOIN manifest_sources s ON s.id = r.manifest_source_id
       WHERE s.manifest_id = m.id AND r.status = 'failed'),
    'seconds_left', ${AVERAGE_DOWNLOAD_SECONDS} * (
      SELECT count(*) FROM records r JOIN manifest_sources s ON s.id = r.manifest_source_id
       WHERE s.manifest_id = m.id AND r.status = 'initialized'),
    -- Per user, as eFolder's: when this user last asked for the zip, plus its expiry (mm/dd).
    'zip_expiration_date', ${ZIP_EXPIRATION_SQL}
    ${
      withRecords
        ? `, 'records', (
      SELECT coalesce(json_agg(json_build_object(
               'id', r.id, 'type_id', r.type_id, 'type_description', r.type_description,
               'received_at', ${efolderTime('r.received_at')}, 'upload_date', ${efolderTime('r.upload_date')},
               'version_id', r.version_id, 'series_id', r.series_id,
               'external_document_id', r.external_document_id, 'source', r.source,
               'mime_type', r.mime_type, 'status', r.status,
               'created_at', ${efolderTime('r.created_at')}, 'updated_at', ${efolderTime('r.updated_at')})
             ORDER BY r.received_at DESC NULLS LAST, r.external_document_id), '[]'::json)
        FROM records r JOIN manifest_sources s ON s.id = r.manifest_source_id
       WHERE s.manifest_id = m.id)`
        : ''
    }
  )`;

export const MANIFEST_VIEW_SQL = `SELECT m.id, ${ETAG_SQL} AS etag, ${ATTRIBUTES_SQL(true)} AS attributes
  FROM manifests m WHERE m.id = $1`;

/**
 * An eFolder user as the audit knows them: the CSS id and station of the caller's tenant.
 * The manifest itself is shared (it is the upstream's data, cached once); who asked for it,
 * and so who may read it here, is per tenant.
 */
export type TenantUser = EfolderUser & {
  /** The tenant actions are recorded for. */
  tenantId: string;
  /** The tenant checks are limited to (null: any, for an operator's read). */
  tenantScope: string | null;
};

export function tenantUser(user: EfolderUser, actor: Actor): TenantUser {
  assertActor(actor);
  return { ...user, tenantId: actor.tenantId, tenantScope: readScope(actor) };
}

@Injectable()
export class ManifestsRepository {
  constructor(@InjectDataSource() readonly ds: DataSource) {}

  /** The manifest of a file number and its two source rows, created if missing. */
  async ensureManifest(fileNumber: string): Promise<string> {
    // Two statements: under concurrency the insert may yield to another's, and only a new
    // statement sees that committed row.
    const inserted = await this.ds.query<Array<{ id: string }>>(
      `INSERT INTO manifests (file_number) VALUES ($1) ON CONFLICT (file_number) DO NOTHING RETURNING id`,
      [fileNumber],
    );
    const id =
      inserted[0]?.id ??
      (
        await this.ds.query<Array<{ id: string }>>(
          `SELECT id FROM manifests WHERE file_number = $1`,
          [fileNumber],
        )
      )[0].id;
    await this.ds.query(
      `INSERT INTO manifest_sources (manifest_id, source) SELECT $1, s FROM unnest(ARRAY['VBMS', 'VVA']) s
       ON CONFLICT (manifest_id, source) DO NOTHING`,
      [id],
    );
    return id;
  }

  /**
   * Marks the sources that need fetching as pending with a fresh claim, in one statement.
   * Row locks make concurrent callers (on any replica) re-check the condition after the
   * first one's update, so each source is claimed once per expiry window.
   */
  async claimSources(
    m: EntityManager,
    manifestId: string,
    o: { force: boolean; expirySeconds: number; failedRetrySeconds: number; claimSeconds: number },
  ): Promise<ClaimedSource[]> {
    // TypeORM answers an UPDATE with [rows, count].
    const [rows] = await m.query<[ClaimedSource[], number]>(
      `UPDATE manifest_sources
          SET status = 'pending', claim_token = gen_random_uuid(),
              claimed_until = now() + make_interval(secs => $5), updated_at = now()
        WHERE manifest_id = $1
          AND (status = 'initialized'
               OR (status = 'pending' AND claimed_until < now())
               OR (status = 'success' AND ($2 OR fetched_at < now() - make_interval(secs => $3)))
               OR (status = 'failed' AND ($2 OR updated_at < now() - make_interval(secs => $4))))
        RETURNING id, source, claim_token`,
      [manifestId, o.force, o.expirySeconds, o.failedRetrySeconds, o.claimSeconds],
    );
    return rows;
  }

  async recordUserAction(
    m: EntityManager | DataSource,
    manifestId: string,
    user: TenantUser,
    action: UserAction,
  ): Promise<void> {
    await m.query(
      `INSERT INTO user_manifests (manifest_id, css_id, station_id, action, tenant_id) VALUES ($1, $2, $3, $4, $5)`,
      [manifestId, user.cssId, user.stationId, action, user.tenantId],
    );
  }

  async userHasManifest(manifestId: string, user: TenantUser): Promise<boolean> {
    const rows = await this.ds.query<unknown[]>(
      `SELECT 1 FROM user_manifests WHERE manifest_id = $1 AND css_id = $2 AND station_id = $3
          AND ($4::text IS NULL OR tenant_id = $4) LIMIT 1`,
      [manifestId, user.cssId, user.stationId, user.tenantScope],
    );
    return rows.length > 0;
  }

  /** The manifest's file number if this user (of this tenant) has asked for it, in one round trip. */
  async ownedFileNumber(manifestId: string, user: TenantUser): Promise<string | null> {
    const rows = await this.ds.query<Array<{ file_number: string }>>(
      `SELECT m.file_number FROM manifests m
        WHERE m.id = $1 AND EXISTS (SELECT 1 FROM user_manifests u
                                     WHERE u.manifest_id = m.id AND u.css_id = $2 AND u.station_id = $3
                                       AND ($4::text IS NULL OR u.tenant_id = $4))`,
      [manifestId, user.cssId, user.stationId, user.tenantScope],
    );
    return rows[0]?.file_number ?? null;
  }

  /** The manifest as this user sees it (their zip's expiry is theirs), and its entity tag. */
  async view(
    manifestId: string,
    user: TenantUser,
  ): Promise<{ id: string; etag: string; attributes: ManifestAttributes } | null> {
    const rows = await this.ds.query<
      Array<{ id: string; etag: string; attributes: ManifestAttributes }>
    >(MANIFEST_VIEW_SQL, [manifestId, user.cssId, user.stationId, user.tenantScope]);
    const v = rows[0];
    if (v) v.attributes.time_to_complete = timeToComplete(v.attributes.seconds_left);
    return v ?? null;
  }

  /**
   * The entity tag of the view this user would get, if they asked for this manifest: one
   * index look-up, whatever the number of records, so an unchanged manifest costs no view.
   */
  async etag(manifestId: string, user: TenantUser): Promise<string | null> {
    const rows = await this.ds.query<Array<{ etag: string }>>(
      `SELECT ${ETAG_SQL} AS etag FROM manifests m
        WHERE m.id = $1 AND EXISTS (SELECT 1 FROM user_manifests u
                                     WHERE u.manifest_id = m.id AND u.css_id = $2 AND u.station_id = $3
                                       AND ($4::text IS NULL OR u.tenant_id = $4))`,
      [manifestId, user.cssId, user.stationId, user.tenantScope],
    );
    return rows[0]?.etag ?? null;
  }

  /**
   * eFolder's history: the manifests whose zip this user asked for within the zip's lifetime
   * (72 hours), newest first, with the HistorySerializer's attributes.
   */
  history(user: TenantUser, limit: number): Promise<ManifestHistoryItem[]> {
    return this.ds.query<ManifestHistoryItem[]>(
      `WITH mine AS (
         SELECT manifest_id, max(created_at) AS requested_at FROM user_manifests
          WHERE css_id = $1 AND station_id = $2 AND action = 'files_download'
            AND created_at > now() - interval '${ZIP_EXPIRY_HOURS} hours'
            AND ($3::text IS NULL OR tenant_id = $3)
          GROUP BY manifest_id ORDER BY requested_at DESC LIMIT $4)
       SELECT m.id, 'manifest' AS type,
              json_build_object(
                'veteran_first_name', m.veteran_first_name,
                'veteran_last_name', m.veteran_last_name,
                'file_number', m.file_number,
                'fetched_files_status', m.files_status,
                'zip_expiration_date', to_char((mine.requested_at + interval '${ZIP_EXPIRY_HOURS} hours') AT TIME ZONE 'UTC', 'MM/DD'),
                'number_failed_documents', (
                  SELECT count(*) FROM records r JOIN manifest_sources s ON s.id = r.manifest_source_id
                   WHERE s.manifest_id = m.id AND r.status = 'failed')) AS attributes
         FROM mine JOIN manifests m ON m.id = mine.manifest_id
        ORDER BY mine.requested_at DESC`,
      [user.cssId, user.stationId, user.tenantScope, limit],
    );
  }

  /** The source a fetch job is for, if the job still holds its claim. */
  async sourceToFetch(id: string, claimToken: string): Promise<SourceToFetch | null> {
    const rows = await this.ds.query<SourceToFetch[]>(
      `SELECT s.id, s.source, s.manifest_id, m.file_number FROM manifest_sources s JOIN manifests m ON m.id = s.manifest_id
        WHERE s.id = $1 AND s.claim_token = $2 AND s.status = 'pending'`,
      [id, claimToken],
    );
    return rows[0] ?? null;
  }

  /**
   * Replaces a source's records with an upstream list in one transaction: upsert all,
   * delete the ones no longer listed, mark the source fetched. Returns false (and writes
   * nothing) when the claim was lost to another worker meanwhile.
   */
  async storeFetch(
    m: EntityManager,
    s: SourceToFetch,
    claimToken: string,
    docs: UpstreamDocument[],
  ): Promise<boolean> {
    const [, claimed] = await m.query<[unknown[], number]>(
      `UPDATE manifest_sources SET status = 'success', fetched_at = now(), claim_token = NULL,
              claimed_until = NULL, last_error = NULL, updated_at = now()
        WHERE id = $1 AND claim_token = $2`,
      [s.id, claimToken],
    );
    if (claimed === 0) return false;
    await m.query(
      `INSERT INTO records (manifest_source_id, source, external_document_id, series_id, version_id, mime_type,
                            received_at, upload_date, type_description, type_id, size, jro, content_ref)
       SELECT $1, $2, d."externalDocumentId", d."seriesId", d."versionId", d."mimeType", d."receivedAt",
              d."uploadDate", d."typeDescription", d."typeId", d.size, d.jro, d."contentRef"
         FROM jsonb_to_recordset($3::jsonb) AS d("externalDocumentId" text, "seriesId" text, "versionId" text,
              "mimeType" text, "receivedAt" timestamptz, "uploadDate" timestamptz, "typeDescription" text,
              "typeId" text, size bigint, jro text, "contentRef" jsonb)
       ON CONFLICT (manifest_source_id, external_document_id) DO UPDATE SET
              series_id = EXCLUDED.series_id, version_id = EXCLUDED.version_id, mime_type = EXCLUDED.mime_type,
              received_at = EXCLUDED.received_at, upload_date = EXCLUDED.upload_date,
              type_description = EXCLUDED.type_description, type_id = EXCLUDED.type_id, size = EXCLUDED.size,
              jro = EXCLUDED.jro, content_ref = EXCLUDED.content_ref, updated_at = now(),
              -- a new version of a document must be downloaded again
              status = CASE WHEN records.version_id IS DISTINCT FROM EXCLUDED.version_id THEN 'initialized' ELSE records.status END,
              storage_key = CASE WHEN records.version_id IS DISTINCT FROM EXCLUDED.version_id THEN NULL ELSE records.storage_key END
        WHERE (records.series_id, records.version_id, records.mime_type, records.received_at, records.upload_date,
               records.type_description, records.type_id, records.size, records.jro, records.content_ref)
              IS DISTINCT FROM
              (EXCLUDED.series_id, EXCLUDED.version_id, EXCLUDED.mime_type, EXCLUDED.received_at, EXCLUDED.upload_date,
               EXCLUDED.type_description, EXCLUDED.type_id, EXCLUDED.size, EXCLUDED.jro, EXCLUDED.content_ref)`,
      [s.id, s.source, JSON.stringify(docs)],
    );
    await m.query(
      `DELETE FROM records WHERE manifest_source_id = $1 AND NOT (external_document_id = ANY($2::text[]))`,
      [s.id, docs.map((d) => d.externalDocumentId)],
    );
    await m.query(
      `UPDATE manifests SET
              zipfile_size = (SELECT coalesce(sum(r.content_size), 0) FROM records r JOIN manifest_sources s
                               ON s.id = r.manifest_source_id WHERE s.manifest_id = $1 AND r.status = 'success'),
              updated_at = now()
        WHERE id = $1`,
      [s.manifest_id],
    );
    return true;
  }

  /** The veteran's names as BGS gives them (listings carry none); a write only on change. */
  async storeVeteran(manifestId: string, v: VeteranRecord): Promise<void> {
    await this.ds.query(
      `UPDATE manifests SET veteran_first_name = $2, veteran_last_name = $3, veteran_last_four_ssn = $4,
              updated_at = now()
        WHERE id = $1 AND (veteran_first_name, veteran_last_name, veteran_last_four_ssn)
              IS DISTINCT FROM ($2, $3, $4)`,
      [manifestId, v.firstName, v.lastName, v.ssn ? v.ssn.slice(-4) : null],
    );
  }

  /** Marks a source failed, keeping its previous records. False when the claim was lost. */
  async storeFailure(
    m: EntityManager,
    s: SourceToFetch,
    claimToken: string,
    error: string,
  ): Promise<boolean> {
    const [, n] = await m.query<[unknown[], number]>(
      `UPDATE manifest_sources SET status = 'failed', last_error = $3, claim_token = NULL, claimed_until = NULL,
              updated_at = now()
        WHERE id = $1 AND claim_token = $2`,
      [s.id, claimToken, error.slice(0, 1000)],
    );
    return n > 0;
  }

  /** Sets the files download pending; false when one is already running. */
  async startFilesDownload(m: EntityManager, manifestId: string): Promise<boolean> {
    const [, n] = await m.query<[unknown[], number]>(
      `UPDATE manifests SET files_status = 'pending', updated_at = now() WHERE id = $1 AND files_status <> 'pending'`,
      [manifestId],
    );
    return n > 0;
  }

  recordsToDownload(manifestId: string): Promise<RecordRow[]> {
    return this.ds.query<RecordRow[]>(
      `SELECT r.id, s.manifest_id, m.file_number, r.source, r.status, r.external_document_id, r.series_id, r.version_id,
              r.content_ref, r.mime_type,
              r.type_description, r.received_at, r.jro, r.storage_key, r.content_size
         FROM records r JOIN manifest_sources s ON s.id = r.manifest_source_id JOIN manifests m ON m.id = s.manifest_id
        WHERE s.manifest_id = $1 AND r.status <> 'success'
        ORDER BY r.received_at DESC NULLS LAST`,
      [manifestId],
    );
  }

  /** Writes a batch of download outcomes in one statement. */
  async storeRecordResults(results: RecordResult[]): Promise<void> {
    if (results.length === 0) return;
    await this.ds.query(
      `UPDATE records r SET status = u.status, storage_key = coalesce(u.storage_key, r.storage_key),
              content_sha256 = coalesce(u.sha256, r.content_sha256), content_size = coalesce(u.size, r.content_size),
              updated_at = now()
         FROM jsonb_to_recordset($1::jsonb) AS u(id uuid, status text, storage_key text, sha256 text, size bigint)
        WHERE r.id = u.id`,
      [JSON.stringify(results)],
    );
  }

  async refreshZipSize(manifestId: string): Promise<void> {
    await this.ds.query(
      `UPDATE manifests SET zipfile_size = (SELECT coalesce(sum(r.content_size), 0) FROM records r
              JOIN manifest_sources s ON s.id = r.manifest_source_id WHERE s.manifest_id = $1 AND r.status = 'success'),
              updated_at = now()
        WHERE id = $1`,
      [manifestId],
    );
  }

  async finishFilesDownload(manifestId: string): Promise<void> {
    await this.ds.query(
      `UPDATE manifests m SET
              files_status = CASE WHEN agg.ok = 0 AND agg.failed > 0 THEN 'failed' ELSE 'finished' END,
              zipfile_size = agg.bytes, fetched_files_at = now(), updated_at = now()
         FROM (SELECT count(*) FILTER (WHERE r.status = 'success') AS ok,
                      count(*) FILTER (WHERE r.status = 'failed') AS failed,
                      coalesce(sum(r.content_size) FILTER (WHERE r.status = 'success'), 0) AS bytes
                 FROM records r JOIN manifest_sources s ON s.id = r.manifest_source_id WHERE s.manifest_id = $1) agg
        WHERE m.id = $1`,
      [manifestId],
    );
  }

  /** A record by its id, version id or external document id. */
  async findRecord(ref: string): Promise<RecordRow | null> {
    const select = `SELECT r.id, s.manifest_id, m.file_number, r.source, r.status, r.external_document_id, r.series_id,
              r.version_id, r.content_ref, r.mime_type, r.type_description, r.received_at, r.jro, r.storage_key, r.content_size
         FROM records r JOIN manifest_sources s ON s.id = r.manifest_source_id JOIN manifests m ON m.id = s.manifest_id`;
    if (isUuid(ref)) {
      const byId = await this.ds.query<RecordRow[]>(`${select} WHERE r.id = $1`, [ref]);
      if (byId[0]) return byId[0];
    }
    // Caseflow asks for /api/v2/records/<version id with its braces stripped>; eFolder puts
    // them back. Version ids are `{UPPER-CASE-UUID}` from every source.
    const braced = isUuid(ref) ? `{${ref.toUpperCase()}}` : ref;
    const rows = await this.ds.query<RecordRow[]>(
      `${select} WHERE r.version_id = ANY($1::text[]) OR r.external_document_id = ANY($1::text[])
        ORDER BY r.updated_at DESC LIMIT 1`,
      [[...new Set([ref, braced])]],
    );
    return rows[0] ?? null;
  }

  zipEntries(manifestId: string): Promise<Array<RecordRow & { content_size: string }>> {
    return this.ds.query(
      `SELECT r.id, r.external_document_id, r.type_description, r.received_at, r.mime_type, r.storage_key, r.content_size
         FROM records r JOIN manifest_sources s ON s.id = r.manifest_source_id
        WHERE s.manifest_id = $1 AND r.status = 'success' AND r.storage_key IS NOT NULL
        ORDER BY r.received_at DESC NULLS LAST, r.external_document_id`,
      [manifestId],
    );
  }

  async manifestNames(manifestId: string) {
    const rows = await this.ds.query<
      Array<{
        veteran_first_name: string | null;
        veteran_last_name: string | null;
        veteran_last_four_ssn: string | null;
        file_number: string;
      }>
    >(
      `SELECT veteran_first_name, veteran_last_name, veteran_last_four_ssn, file_number FROM manifests WHERE id = $1`,
      [manifestId],
    );
    return rows[0] ?? null;
  }

  async cachedCount(fileNumber: string, expirySeconds: number): Promise<number | null> {
    const rows = await this.ds.query<Array<{ documents: number }>>(
      `SELECT documents FROM document_counts WHERE file_number = $1 AND fetched_at > now() - make_interval(secs => $2)`,
      [fileNumber, expirySeconds],
    );
    return rows[0]?.documents ?? null;
  }

  async storeCount(fileNumber: string, documents: number): Promise<void> {
    await this.ds.query(
      `INSERT INTO document_counts (file_number, documents) VALUES ($1, $2)
       ON CONFLICT (file_number) DO UPDATE SET documents = EXCLUDED.documents, fetched_at = now()`,
      [fileNumber, documents],
    );
  }
}
