import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { ManifestSourceName } from '@app/contracts';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { ManifestCacheConfig } from '../config';

/** One document as an upstream lists it, normalised across VBMS and VVA. */
export interface UpstreamDocument {
  externalDocumentId: string;
  seriesId: string | null;
  versionId: string | null;
  typeId: string | null;
  typeDescription: string | null;
  mimeType: string | null;
  receivedAt: string | null;
  uploadDate: string | null;
  size: number | null;
  jro: string | null;
  /** The source marks the document restricted (eFolder hides those too). */
  restricted?: boolean;
}

export interface UpstreamManifest {
  veteran?: { firstName: string; lastName: string; lastFourSsn: string };
  documents: UpstreamDocument[];
}

export class UpstreamError extends Error {
  constructor(
    readonly source: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${source}: ${message}`);
    this.name = 'UpstreamError';
  }
}

interface RawDocument {
  document_id?: unknown;
  series_id?: unknown;
  version_id?: unknown;
  type_id?: unknown;
  restricted?: unknown;
  type_description?: unknown;
  mime_type?: unknown;
  received_at?: unknown;
  upload_date?: unknown;
  size?: unknown;
  jro?: unknown;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);

/**
 * The adapters for VBMS, VVA (document lists and content) and BGS (access), over HTTP to
 * configurable base URLs. Every call has a timeout; a malformed answer is an error, never
 * an empty list.
 */
@Injectable()
export class UpstreamClient {
  constructor(@Inject(SERVICE_CONFIG) private readonly config: ManifestCacheConfig) {}

  private base(source: ManifestSourceName): string {
    return source === 'VBMS' ? this.config.VBMS_URL : this.config.VVA_URL;
  }

  async listDocuments(source: ManifestSourceName, fileNumber: string): Promise<UpstreamManifest> {
    const body = await this.json(
      source,
      `${this.base(source)}/veterans/${encodeURIComponent(fileNumber)}/documents`,
    );
    const b = body as {
      documents?: unknown;
      veteran?: { first_name?: unknown; last_name?: unknown; last_four_ssn?: unknown };
    };
    if (!Array.isArray(b.documents)) throw new UpstreamError(source, 'answer has no document list');
    const documents = (b.documents as RawDocument[]).map((d) => {
      const id = str(d.document_id);
      if (!id) throw new UpstreamError(source, 'a listed document has no id');
      return {
        externalDocumentId: id,
        seriesId: str(d.series_id),
        versionId: str(d.version_id) ?? id,
        typeId: str(d.type_id),
        typeDescription: str(d.type_description),
        mimeType: str(d.mime_type),
        receivedAt: str(d.received_at),
        uploadDate: str(d.upload_date),
        size: typeof d.size === 'number' ? d.size : null,
        jro: str(d.jro),
        ...(d.restricted === true ? { restricted: true } : {}),
      };
    });
    const v = b.veteran;
    const first = str(v?.first_name);
    const veteran = first
      ? {
          firstName: first,
          lastName: str(v?.last_name) ?? '',
          lastFourSsn: str(v?.last_four_ssn) ?? '',
        }
      : undefined;
    return { veteran, documents };
  }

  /** May this user see this veteran's file? (BGS sensitivity check) */
  async canAccess(fileNumber: string, cssId: string, stationId: string): Promise<boolean> {
    const url = `${this.config.BGS_URL}/veterans/${encodeURIComponent(fileNumber)}/access?css_id=${encodeURIComponent(cssId)}&station_id=${encodeURIComponent(stationId)}`;
    const body = (await this.json('BGS', url)) as { access?: unknown };
    if (typeof body.access !== 'boolean')
      throw new UpstreamError('BGS', 'answer has no access flag');
    return body.access;
  }

  async content(
    source: ManifestSourceName,
    documentId: string,
    fileNumber: string,
    jro: string | null,
  ): Promise<Readable> {
    const q = new URLSearchParams({ file_number: fileNumber, ...(jro ? { jro } : {}) });
    const res = await this.fetch(
      source,
      `${this.base(source)}/documents/${encodeURIComponent(documentId)}/content?${q.toString()}`,
    );
    if (!res.body) throw new UpstreamError(source, 'empty content');
    return Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
  }

  private async json(source: string, url: string): Promise<unknown> {
    const res = await this.fetch(source, url);
    try {
      return await res.json();
    } catch {
      throw new UpstreamError(source, 'answer is not JSON');
    }
  }

  private async fetch(source: string, url: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.config.UPSTREAM_TIMEOUT_MS) });
    } catch (err) {
      const e = err as Error;
      throw new UpstreamError(
        source,
        e.name === 'TimeoutError'
          ? `no answer within ${this.config.UPSTREAM_TIMEOUT_MS} ms`
          : `unreachable (${e.message})`,
      );
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new UpstreamError(source, `answered ${res.status}`, res.status);
    }
    return res;
  }
}
