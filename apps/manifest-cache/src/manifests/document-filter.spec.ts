import type { UpstreamDocument } from '../upstream/upstream.client';
import { visibleDocuments } from './document-filter';

const doc = (
  id: string,
  typeId: string,
  over: Partial<UpstreamDocument> = {},
): UpstreamDocument => ({
  externalDocumentId: id,
  seriesId: null,
  versionId: id,
  typeId,
  typeDescription: null,
  mimeType: 'application/pdf',
  receivedAt: null,
  uploadDate: null,
  size: null,
  jro: null,
  ...over,
});

describe("eFolder's DocumentFilter", () => {
  it('always hides fiduciary, IRS/SSA and 999981 documents, and restricted ones; keeps one per id', () => {
    const docs = [
      doc('{A}', '34'),
      doc('{A}', '34'),
      doc('{B}', '552'), // fiduciary
      doc('{C}', '804'), // IRS/SSA (VVA)
      doc('{D}', '999981'), // the DBQ's XML twin
      doc('{E}', '10', { restricted: true }),
      doc('{F}', '73'),
    ];
    expect(visibleDocuments(docs).map((d) => d.externalDocumentId)).toEqual(['{A}', '{F}']);
    expect(visibleDocuments(docs, ['73']).map((d) => d.externalDocumentId)).toEqual(['{A}']);
  });
});
