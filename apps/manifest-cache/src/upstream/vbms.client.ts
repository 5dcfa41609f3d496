import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { ManifestCacheConfig } from '../config';
import { braced, type DocumentRef, type UpstreamDocument } from './documents';
import {
  asArray,
  parseSoap,
  SoapFault,
  soapAnswer,
  soapPost,
  str,
  takeElement,
  type XmlObject,
} from './soap';
import { discard, UpstreamError, UpstreamTransport } from './transport';

/** Thrown when VBMS does not know the file number (eFolder: VBMS::FilenumberDoesNotExist). */
export class FileNumberUnknown extends UpstreamError {}

const PAGE_SIZE = 20; // ruby_claim_evidence_api veteran_file_fetcher.rb#file_folders_search_body
const TYPES_TTL_MS = 24 * 3600 * 1000;
const READ_NS = 'http://service.efolder.vbms.vba.va.gov/eFolderReadService';
const DOCUMENT_V5_NS = 'http://vbms.vba.va.gov/cdm/document/v5';

interface CeFile {
  uuid?: unknown;
  currentVersionUuid?: unknown;
  currentVersion?: {
    systemData?: { uploadedDateTime?: unknown; mimeType?: unknown; contentName?: unknown };
    providerData?: {
      documentTypeId?: unknown;
      subject?: unknown;
      dateVaReceivedDocument?: unknown;
      contentSource?: unknown;
    };
  };
}

interface CePage {
  page?: { totalPages?: unknown; currentPage?: unknown; totalResults?: unknown };
  files?: unknown;
}

/**
 * VBMS documents. By default through the Claims Evidence REST API as eFolder reads it today
 * (department-of-veterans-affairs/ruby_claim_evidence_api veteran_file_fetcher.rb: POST
 * /folders/files:search with `X-Folder-URI: VETERAN:FILENUMBER:<n>`, 20 a page, every page
 * in turn; content from /files/<series uuid>/content), or through the eFolder read
 * service's SOAP findDocumentVersionReference (connect_vbms).
 */
@Injectable()
export class VbmsClient {
  private types: { at: number; byId: Map<string, string> } | null = null;

  constructor(
    private readonly transport: UpstreamTransport,
    @Inject(SERVICE_CONFIG) private readonly config: ManifestCacheConfig,
  ) {}

  listDocuments(fileNumber: string): Promise<UpstreamDocument[]> {
    return this.config.VBMS_API === 'soap'
      ? this.soapList(fileNumber)
      : this.claimsEvidenceList(fileNumber);
  }

  content(doc: DocumentRef): Promise<Readable> {
    return this.config.VBMS_API === 'soap'
      ? this.soapContent(doc)
      : this.claimsEvidenceContent(doc);
  }

  private ce(path: string): string {
    return `${this.config.CLAIM_EVIDENCE_URL}/api/v1/rest${path}`;
  }

  private ceHeaders(extra: Record<string, string> = {}): Record<string, string> {
    return {
      accept: '*/*',
      authorization: `Bearer ${this.config.CLAIM_EVIDENCE_JWT_TOKEN}`,
      ...extra,
    };
  }

  /**
   * Every page, in order. A page that fails fails the whole listing: eFolder records a
   * partial failure as a success with no documents; here the source is marked failed and
   * keeps its previous records (ADR 0014).
   */
  private async claimsEvidenceList(fileNumber: string): Promise<UpstreamDocument[]> {
    const files: CeFile[] = [];
    let totalPages = 1;
    for (let page = 1; page <= totalPages; page++) {
      const body = await this.ceJson<CePage>(
        this.ce('/folders/files:search'),
        {
          method: 'POST',
          headers: this.ceHeaders({
            'content-type': 'application/json',
            'x-folder-uri': `VETERAN:FILENUMBER:${fileNumber}`,
          }),
          body: JSON.stringify({ pageRequest: { resultsPerPage: PAGE_SIZE, page }, filters: {} }),
        },
        page,
      );
      if (Number(body.page?.totalResults) === 0) return [];
      if (!Array.isArray(body.files) || !body.page)
        throw new UpstreamError('VBMS', `page ${page} has no file list`);
      files.push(...(body.files as CeFile[]));
      totalPages = Math.min(Number(body.page.totalPages) || 1, 10_000);
    }
    const types = await this.documentTypes();
    return files.map((f) => {
      const version = str(f.currentVersionUuid);
      const series = str(f.uuid);
      if (!version || !series) throw new UpstreamError('VBMS', 'a listed file has no uuid');
      const p = f.currentVersion?.providerData ?? {};
      const s = f.currentVersion?.systemData ?? {};
      const typeId = idText(p.documentTypeId);
      return {
        externalDocumentId: braced(version),
        seriesId: braced(series),
        versionId: braced(version),
        typeId,
        // Claims Evidence lists no description; eFolder maps the type id, else "Unknown".
        typeDescription: (typeId && types.get(typeId)) ?? types.get('10') ?? null,
        mimeType: str(s.mimeType),
        receivedAt: str(p.dateVaReceivedDocument),
        uploadDate: str(s.uploadedDateTime),
        size: null,
        jro: null,
        contentRef: { seriesUuid: series },
      };
    });
  }

  /** Claims Evidence's document type table (GET /documenttypes), kept a day. */
  private async documentTypes(): Promise<Map<string, string>> {
    if (this.types && Date.now() - this.types.at < TYPES_TTL_MS) return this.types.byId;
    try {
      const body = await this.ceJson<{
        documentTypes?: Array<{ id?: unknown; description?: unknown }>;
      }>(this.ce('/documenttypes'), { headers: this.ceHeaders() });
      const byId = new Map<string, string>();
      for (const t of asArray(body.documentTypes)) {
        const id = idText(t.id);
        if (id && typeof t.description === 'string') byId.set(id, t.description);
      }
      this.types = { at: Date.now(), byId };
      return byId;
    } catch {
      return this.types?.byId ?? new Map(); // descriptions are cosmetic; the listing goes on
    }
  }

  private async ceJson<T>(
    url: string,
    init: { method?: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
    page?: number,
  ): Promise<T> {
    const res = await this.transport.send('VBMS', 'VBMS', url, init);
    const text = await this.transport.text(res, 'VBMS', 32 * 1024 * 1024);
    const where = page ? ` (page ${page})` : '';
    if (res.status === 404 && page === 1)
      throw new FileNumberUnknown('VBMS', 'file number not found', 404);
    if (res.status >= 300)
      throw new UpstreamError('VBMS', `answered ${res.status}${where}`, res.status);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new UpstreamError('VBMS', `answer is not JSON${where}`);
    }
  }

  private async claimsEvidenceContent(doc: DocumentRef): Promise<Readable> {
    const series = doc.contentRef?.seriesUuid ?? doc.seriesId?.replace(/^\{|\}$/g, '');
    if (!series) throw new UpstreamError('VBMS', 'the record has no series id');
    const res = await this.transport.send(
      'VBMS',
      'VBMS',
      this.ce(`/files/${encodeURIComponent(series.toLowerCase())}/content`),
      { headers: this.ceHeaders() },
    );
    if (res.status !== 200) {
      discard(res);
      throw new UpstreamError('VBMS', `answered ${res.status}`, res.status);
    }
    return res.body;
  }

  /** connect_vbms find_document_version_reference.rb: one result per document version. */
  private async soapList(fileNumber: string): Promise<UpstreamDocument[]> {
    const xml = await this.readService(
      'findDocumentVersionReference',
      {
        'tns:criteria': {
          'v5:veteran': { '@_xmlns:v5': DOCUMENT_V5_NS, '@_fileNumber': fileNumber },
        },
      },
      64 * 1024 * 1024,
    );
    const answer = soapAnswer('VBMS', xml, 'findDocumentVersionReference', ['result', 'metadata']);
    return asArray(answer.result as XmlObject[]).map((r) => {
      const id = str(r['@documentVersionRefId']);
      if (!id) throw new UpstreamError('VBMS', 'a listed document has no id');
      const type = (r.typeCategory ?? {}) as XmlObject;
      const meta = asArray(r.metadata as XmlObject[]);
      const restricted = meta.find((m) => m['@key'] === 'restricted');
      return {
        externalDocumentId: id,
        seriesId: str(r['@documentSeriesRefId']),
        versionId: id,
        typeId: str(type['@typeId']),
        typeDescription: str(type['@typeDescriptionText']),
        mimeType: str(r['@mimeType']),
        receivedAt: str(r.vaReceiveDate),
        uploadDate: str(r.vbmsUploadDate),
        size: null,
        jro: null,
        ...(str(restricted?.value) === 'true' ? { restricted: true } : {}),
      };
    });
  }

  /** getDocumentContent with the bytes inline (spec/fixtures/responses/get_document_content_response.xml). */
  private async soapContent(doc: DocumentRef): Promise<Readable> {
    const xml = await this.readService(
      'getDocumentContent',
      { 'tns:documentVersionRefID': doc.externalDocumentId },
      this.config.UPSTREAM_MAX_DOCUMENT_MB * 1024 * 1024 * 1.4,
    );
    const { xml: rest, text } = takeElement(xml, 'bytes');
    parseSoap('VBMS', rest);
    if (!text || text.includes('Include'))
      throw new UpstreamError('VBMS', 'the document content is not inline (MTOM is not supported)');
    return Readable.from([Buffer.from(text, 'base64')]);
  }

  /** One call to the eFolder read service; an unknown file number is FileNumberUnknown. */
  private async readService(operation: string, args: XmlObject, maxBytes: number): Promise<string> {
    try {
      return await soapPost(this.transport, {
        upstream: 'VBMS',
        source: 'VBMS',
        url: this.config.VBMS_URL,
        namespace: READ_NS,
        operation,
        args,
        maxBytes,
      });
    } catch (err) {
      // connect_vbms lib/vbms/errors.rb: "File Number does not exist within the system."
      if (err instanceof SoapFault && /file ?number does not exist/i.test(err.faultMessage))
        throw new FileNumberUnknown('VBMS', err.faultMessage, err.status);
      throw err;
    }
  }
}

/** A type id as Claims Evidence writes it (a number), as text. */
function idText(v: unknown): string | null {
  return typeof v === 'number' && Number.isFinite(v)
    ? String(v)
    : typeof v === 'string' && v
      ? v
      : null;
}
