import { RefusedInput, workerTask } from '@app/workers';
import { checkRendering, fill } from './pdf-fill';
import { type FormField, NotAPdfError, readFields, UnusablePdfError } from './pdf-forms';
import type { SealKey } from './seal';

/** What pdf-workflow asks of its worker threads: PDF parsing, checking and filling, never on the RPC loop. */
export type PdfTask =
  | { op: 'fields'; pdf: Uint8Array }
  | { op: 'check'; answers: Array<{ field: FormField; value: unknown }> }
  | {
      op: 'fill';
      pdf: Uint8Array;
      values: Record<string, unknown>;
      flatten: boolean;
      seal?: SealKey;
    };

export default workerTask(async (t: PdfTask) => {
  if (t.op === 'check') return t.answers.map((a) => checkRendering(a.field, a.value));
  const bytes = Buffer.from(t.pdf.buffer, t.pdf.byteOffset, t.pdf.byteLength);
  try {
    if (t.op === 'fields') return await readFields(bytes);
    const out = await fill(bytes, t.values, {
      flatten: t.flatten,
      ...(t.seal ? { seal: t.seal } : {}),
    });
    return new Uint8Array(out);
  } catch (err) {
    if (err instanceof NotAPdfError) throw new RefusedInput('not_a_pdf', err.message);
    if (err instanceof UnusablePdfError) throw new RefusedInput('unusable_pdf', err.message);
    throw err;
  }
});
