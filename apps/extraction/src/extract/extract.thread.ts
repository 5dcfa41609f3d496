import type { ExtractedValue, JobFieldView } from '@app/contracts';
import { RefusedInput, workerTask } from '@app/workers';
import { extractFields } from './extractor';
import { pdfLines, type PdfLimits, UnreadablePdfError } from './pdf-text';

/** One file's extraction, in a worker thread: text from the PDF, then the fields from the text. */
export interface ExtractTask {
  pdf: Uint8Array;
  fields: JobFieldView[];
  limits: PdfLimits;
}

export default workerTask(async (t: ExtractTask): Promise<Record<string, ExtractedValue>> => {
  const bytes = Buffer.from(t.pdf.buffer, t.pdf.byteOffset, t.pdf.byteLength);
  try {
    return extractFields(await pdfLines(bytes, t.limits), t.fields);
  } catch (err) {
    if (err instanceof UnreadablePdfError) throw new RefusedInput('unreadable', err.message);
    throw err;
  }
});
