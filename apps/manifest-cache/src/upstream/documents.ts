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
  /** What the source needs, besides the ids, to hand the content over later. */
  contentRef?: Record<string, string | null>;
}

/** What a content request is made from: a stored record. */
export interface DocumentRef {
  externalDocumentId: string;
  seriesId: string | null;
  fileNumber: string;
  jro: string | null;
  contentRef: Record<string, string | null> | null;
}

/** `{UPPER-CASE-UUID}`, as eFolder writes every version id (json_api_response_adapter.rb). */
export const braced = (uuid: string) => `{${uuid.replace(/^\{|\}$/g, '').toUpperCase()}}`;
