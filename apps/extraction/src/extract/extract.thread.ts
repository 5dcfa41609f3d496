import type { Engine, ExtractedValue, JobFieldView } from '@app/contracts';
import { RefusedInput, workerTask } from '@app/workers';
import { looksLikeXml, readEInvoice, type EInvoice } from './einvoice';
import { extractFields } from './extractor';
import { eInvoiceValues } from './field-meanings';
import type { OcrLanguage } from './ocr';
import { type PdfAttachment, pdfContent, type PdfLimits, UnreadablePdfError } from './pdf-text';

/**
 * One file's extraction, in a worker thread. An e-invoice is read from its XML first (a bare
 * CII/UBL file, or the XML a Factur-X/ZUGFeRD PDF embeds): exact values, confidence 1. For
 * the rest the PDF's text is read (scans OCR'd): the `rules` engine extracts here; the
 * `model` engine gets the text back and asks its model outside the thread (that is I/O).
 */
export interface ExtractTask {
  pdf: Uint8Array;
  fields: JobFieldView[];
  limits: PdfLimits;
  engine: Engine;
  defaultCurrency: string | null;
  ocr: { languages: OcrLanguage[]; maxPages: number } | null;
  /** For `model`: the first pages as images, for a model that reads them (0: none). */
  pageImages: number;
}

export interface ExtractOutcome {
  /** The e-invoice's values, and for `rules` every field's. */
  values: Record<string, ExtractedValue>;
  /** The document's text lines with their layout (for `model`; empty otherwise). */
  lines: string[];
  /** The first pages as PNG (for `model`, when asked for). */
  images: Uint8Array[];
  warnings: string[];
  pages: number;
  pagesOcred: number;
}

/** Embedded XML larger than this is not an invoice anyone sends; it is not parsed. */
const MAX_XML_BYTES = 5 * 1024 * 1024;

export default workerTask(async (t: ExtractTask): Promise<ExtractOutcome> => {
  const bytes = Buffer.from(t.pdf.buffer, t.pdf.byteOffset, t.pdf.byteLength);
  try {
    if (looksLikeXml(bytes)) {
      const inv = bytes.length <= MAX_XML_BYTES ? readEInvoice(bytes.toString('utf8')) : null;
      if (!inv) throw new RefusedInput('unreadable', 'the XML file is not a CII or UBL invoice');
      const found = eInvoiceValues(inv, t.fields);
      return {
        values: Object.fromEntries(
          t.fields.map((f) => [f.name, found[f.name] ?? { value: null, confidence: 0, raw: null }]),
        ),
        lines: [],
        images: [],
        warnings: [],
        pages: 0,
        pagesOcred: 0,
      };
    }
    const content = await pdfContent(bytes, t.limits, {
      ...(t.ocr ? { ocr: t.ocr } : {}),
      images: t.engine === 'model' ? t.pageImages : 0,
    });
    const inv = embeddedInvoice(content.attachments);
    const fromXml = inv ? eInvoiceValues(inv, t.fields) : {};
    const rules =
      t.engine === 'rules'
        ? extractFields(content.lines, t.fields, {
            cells: content.cells,
            ocr: content.ocr,
            defaultCurrency: t.defaultCurrency,
          })
        : {};
    return {
      values: { ...rules, ...fromXml },
      lines: t.engine === 'model' ? content.lines : [],
      images: content.images,
      warnings: content.warnings,
      pages: content.pages,
      pagesOcred: content.pagesOcred,
    };
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
