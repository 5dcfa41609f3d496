import { RefusedInput, workerTask } from '@app/workers';
import { fill, NotAPdfError, readFields } from './pdf-forms';

/** What pdf-workflow asks of its worker threads: PDF parsing and filling, never on the RPC loop. */
export type PdfTask =
  | { op: 'fields'; pdf: Uint8Array }
  | { op: 'fill'; pdf: Uint8Array; values: Record<string, unknown>; flatten: boolean };

export default workerTask(async (t: PdfTask) => {
  const bytes = Buffer.from(t.pdf.buffer, t.pdf.byteOffset, t.pdf.byteLength);
  try {
    if (t.op === 'fields') return await readFields(bytes);
    return new Uint8Array(await fill(bytes, t.values, t.flatten));
  } catch (err) {
    if (err instanceof NotAPdfError) throw new RefusedInput('not_a_pdf', err.message);
    throw err;
  }
});
