import type { ExtractedValue, JobFieldView } from '@app/contracts';
import { RefusedInput, workerTask } from '@app/workers';
import { looksLikeXml, readEInvoice, type EInvoice } from './einvoice';
import { extractFields } from './extractor';
import { eInvoiceValues } from './field-meanings';
import { type PdfAttachment, pdfContent, type PdfLimits, UnreadablePdfError } from './pdf-text';

/**
 * One file's extraction, in a worker thread. An e-invoice is read from its XML first (a bare
 * CII/UBL file, or the XML a Factur-X/ZUGFeRD PDF embeds): exact values, confidence 1. Fields
 * the XML does not give come from the PDF's text by the rules.
 */
export interface ExtractTask {
  pdf: Uint8Array;
  fields: JobFieldView[];
  limits: PdfLimits;
}

/** Embedded XML larger than this is not an invoice anyone sends; it is not parsed. */
const MAX_XML_BYTES = 5 * 1024 * 1024;

export default workerTask(async (t: ExtractTask): Promise<Record<string, ExtractedValue>> => {
  const bytes = Buffer.from(t.pdf.buffer, t.pdf.byteOffset, t.pdf.byteLength);
  try {
    if (looksLikeXml(bytes)) {
      const inv = bytes.length <= MAX_XML_BYTES ? readEInvoice(bytes.toString('utf8')) : null;
      if (!inv) throw new RefusedInput('unreadable', 'the XML file is not a CII or UBL invoice');
      const found = eInvoiceValues(inv, t.fields);
      return Object.fromEntries(
        t.fields.map((f) => [f.name, found[f.name] ?? { value: null, confidence: 0, raw: null }]),
      );
    }
    const { lines, cells, attachments } = await pdfContent(bytes, t.limits);
    const rules = extractFields(lines, t.fields, cells);
    const inv = embeddedInvoice(attachments);
    return inv ? { ...rules, ...eInvoiceValues(inv, t.fields) } : rules;
  } catch (err) {
    if (err instanceof UnreadablePdfError) throw new RefusedInput('unreadable', err.message);
    throw err;
  }
});

/** The first embedded XML file that is a CII or UBL invoice (factur-x.xml, ZUGFeRD-invoice.xml, ...). */
function embeddedInvoice(attachments: PdfAttachment[]): EInvoice | null {
  for (const a of attachments) {
    if (!/\.xml$/i.test(a.name) || a.content.length > MAX_XML_BYTES) continue;
    const inv = readEInvoice(Buffer.from(a.content).toString('utf8'));
    if (inv) return inv;
  }
  return null;
}
