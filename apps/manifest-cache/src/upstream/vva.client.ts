import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { ManifestCacheConfig } from '../config';
import type { DocumentRef, UpstreamDocument } from './documents';
import {
  asArray,
  parseSoap,
  soapAnswer,
  soapPost,
  str,
  takeElement,
  WSSE,
  type XmlObject,
} from './soap';
import { UpstreamError, UpstreamTransport } from './transport';

const VVA_NS = 'http://service.bfi.va.gov/';

/** "According to VVA documentation, there are only two mime types" (connect_vva). */
const MIME_TYPES: Record<string, string> = { tiff: 'image/tiff', pdf: 'application/pdf' };

/** What a VVA content request needs besides the document id. */
export interface VvaContentRef {
  source: string | null;
  format: string | null;
  jro: string | null;
  ssn: string | null;
}

/**
 * Virtual VA over SOAP, as department-of-veterans-affairs/connect_vva speaks it
 * (lib/vva/services/document_list.rb, document_content.rb): a WS-Security username token,
 * GetDocumentList by claim number, GetDocumentContent with the record's source, format,
 * regional office and SSN, content as base64.
 */
@Injectable()
export class VvaClient {
  constructor(
    private readonly transport: UpstreamTransport,
    @Inject(SERVICE_CONFIG) private readonly config: ManifestCacheConfig,
  ) {}

  async listDocuments(claimNumber: string): Promise<UpstreamDocument[]> {
    const xml = await this.post('GetDocumentList', { claimNbr: claimNumber }, 16 * 1024 * 1024);
    const answer = soapAnswer('VVA', xml, 'GetDocumentList', ['dcmntRecord']);
    // "No records found" answers a message and size 0, no records (spec/fixtures/no_records_found_response.xml).
    return asArray(answer.dcmntRecord as XmlObject[]).map((r) => {
      const id = str(r.fnDcmntId);
      if (!id) throw new UpstreamError('VVA', 'a listed document has no id');
      const format = str(r.dcmntFormatCd);
      const ref: VvaContentRef = {
        source: str(r.fnDcmntSource),
        format,
        jro: str(r.jrsdtnRoNbr),
        ssn: str(r.ssnNbr),
      };
      return {
        externalDocumentId: id,
        seriesId: id,
        versionId: id,
        typeId: str(r.dcmntTypeLupId),
        typeDescription: str(r.dcmntTypeDescpTxt),
        mimeType: format ? (MIME_TYPES[format.toLowerCase()] ?? null) : null,
        receivedAt: usDate(str(r.rcvdDt)),
        uploadDate: usDate(str(r.storgDt)),
        size: null,
        jro: ref.jro,
        ...(str(r.rstrcdDcmntInd) === 'Y' ? { restricted: true } : {}),
        contentRef: ref as unknown as Record<string, string | null>,
      };
    });
  }

  async content(doc: DocumentRef): Promise<Readable> {
    const ref = (doc.contentRef ?? {}) as Partial<VvaContentRef>;
    const xml = await this.post(
      'GetDocumentContent',
      {
        fnDcmntId: doc.externalDocumentId,
        fnDcmntSource: ref.source ?? '',
        dcmntFormatCd: ref.format ?? '',
        jro: ref.jro ?? doc.jro ?? '',
        userId: ref.ssn ?? '',
      },
      this.config.UPSTREAM_MAX_DOCUMENT_MB * 1024 * 1024 * 1.4,
    );
    const { xml: rest, text } = takeElement(xml, 'content');
    parseSoap('VVA', rest);
    if (!text) throw new UpstreamError('VVA', 'the document has no content');
    return Readable.from([Buffer.from(text, 'base64')]);
  }

  private post(operation: string, args: XmlObject, maxBytes: number): Promise<string> {
    return soapPost(this.transport, {
      upstream: 'VVA',
      source: 'VVA',
      url: this.config.VVA_URL,
      namespace: VVA_NS,
      operation,
      args,
      header: {
        'wsse:Security': {
          '@_xmlns:wsse': WSSE,
          'wsse:UsernameToken': {
            'wsse:Username': this.config.VVA_USERNAME,
            'wsse:Password': this.config.VVA_PASSWORD,
          },
        },
      },
      maxBytes,
    });
  }
}

/** VVA writes dates as MM/DD/YYYY (spec/fixtures/document_list_response.xml). */
function usDate(v: string | null): string | null {
  const m = v ? /^(\d{2})\/(\d{2})\/(\d{4})$/.exec(v) : null;
  return m ? `${m[3]}-${m[1]}-${m[2]}` : null;
}
