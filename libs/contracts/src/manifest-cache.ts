import type { Actor } from './tenancy';
/** manifest-cache: eFolder manifests shared per veteran file number. */

export const MANIFEST_SOURCES = ['VBMS', 'VVA'] as const;
export type ManifestSourceName = (typeof MANIFEST_SOURCES)[number];

export type SourceStatus = 'initialized' | 'pending' | 'success' | 'failed';
export type FilesStatus = 'initialized' | 'pending' | 'finished' | 'failed';
export type RecordStatus = 'initialized' | 'success' | 'failed';

/** Who is asking, from eFolder's CSS-ID and STATION-ID headers. */
export interface EfolderUser {
  cssId: string;
  stationId: string;
}

export interface ManifestSourceView {
  source: ManifestSourceName;
  status: SourceStatus;
  fetched_at: string | null;
  number_of_documents: number;
}

export interface ManifestRecordView {
  id: string;
  type_id: string | null;
  type_description: string | null;
  received_at: string | null;
  upload_date: string | null;
  version_id: string | null;
  series_id: string | null;
  external_document_id: string;
  source: ManifestSourceName;
  mime_type: string | null;
  status: RecordStatus;
  created_at: string;
  updated_at: string;
}

/** The eFolder Express v2 manifest attributes, field for field. */
export interface ManifestAttributes {
  veteran_first_name: string | null;
  veteran_last_name: string | null;
  file_number: string;
  created_at: string;
  updated_at: string;
  sources: ManifestSourceView[];
  records: ManifestRecordView[];
  fetched_files_status: FilesStatus;
  number_successful_documents: number;
  number_failed_documents: number;
  zipfile_size: number;
  /** When the files were last all downloaded. */
  fetched_files_at: string | null;
  /** When this user's zip expires (eFolder's `mm/dd`), or null before they asked for one. */
  zip_expiration_date: string | null;
  /** Documents still to download × eFolder's 2 s average. */
  seconds_left: number;
  /** The same in Rails' words ("about 1 hour"). */
  time_to_complete?: string;
}

export interface ManifestView {
  id: string;
  type: 'manifest';
  attributes: ManifestAttributes;
  /** The view's entity tag (the gateway sends it as ETag, not in the body). */
  etag?: string;
}

/** What eFolder's v2 manifest routes answer (the entity tag travels as a header). */
export interface EfolderManifestBody {
  data: Omit<ManifestView, 'etag'>;
}

/** What eFolder's v2 history answers. */
export interface EfolderHistoryBody {
  data: ManifestHistoryItem[];
}

export interface ManifestHistoryItem {
  id: string;
  type: 'manifest';
  /** eFolder's HistorySerializer: these attributes and no others. */
  attributes: Pick<
    ManifestAttributes,
    | 'veteran_first_name'
    | 'veteran_last_name'
    | 'file_number'
    | 'fetched_files_status'
    | 'zip_expiration_date'
    | 'number_failed_documents'
  >;
}

/** Where the gateway streams bytes from: the service decides, storage serves. */
export interface StoredContent {
  key: string;
  mimeType: string;
  size: number;
  /** Where the bytes came from this time: the source, or `S3` (the store) once fetched. */
  source: ManifestSourceName | 'S3';
  filename: string;
}

export interface ZipPlan {
  filename: string;
  entries: Array<{ name: string; key: string; size: number }>;
}

export type ManifestCacheRpc = {
  'manifest-cache.manifest.start.v1': {
    request: { fileNumber: string; user: EfolderUser; actor: Actor; force?: boolean };
    response: ManifestView;
  };
  'manifest-cache.manifest.refresh.v1': {
    request: { manifestId: string; user: EfolderUser; actor: Actor };
    response: ManifestView;
  };
  'manifest-cache.manifest.get.v1': {
    request: { manifestId: string; user: EfolderUser; actor: Actor };
    response: ManifestView;
  };
  /** The entity tag of this user's view of the manifest (404 as `get` would be). */
  'manifest-cache.manifest.etag.v1': {
    request: { manifestId: string; user: EfolderUser; actor: Actor };
    response: { etag: string };
  };
  'manifest-cache.manifest.history.v1': {
    request: { user: EfolderUser; actor: Actor };
    response: ManifestHistoryItem[];
  };
  'manifest-cache.files-download.start.v1': {
    request: { manifestId: string; user: EfolderUser; actor: Actor };
    response: ManifestView;
  };
  'manifest-cache.files-download.get.v1': {
    request: { manifestId: string; user: EfolderUser; actor: Actor };
    response: ManifestView;
  };
  'manifest-cache.zip.plan.v1': {
    request: { manifestId: string; user: EfolderUser; actor: Actor };
    response: ZipPlan;
  };
  'manifest-cache.record.content.v1': {
    request: { recordId: string; user: EfolderUser; actor: Actor };
    response: StoredContent;
  };
  'manifest-cache.document-count.get.v1': {
    request: { fileNumber: string; user: EfolderUser; actor: Actor };
    response: { documents: number };
  };
};

export interface ManifestCacheEvents {
  'manifest-cache.manifest.fetched.v1': {
    manifestId: string;
    fileNumber: string;
    source: ManifestSourceName;
    documents: number;
    fetchedAt: string;
  };
  'manifest-cache.source.failed.v1': {
    manifestId: string;
    fileNumber: string;
    source: ManifestSourceName;
    error: string;
  };
  /** Work item on the service's own queue: fetch one source's document list. */
  'manifest-cache.source.fetch-requested.v1': {
    manifestSourceId: string;
    claimToken: string;
  };
  /** Work item: download every document of a manifest into storage. */
  'manifest-cache.files.download-requested.v1': { manifestId: string };
}
