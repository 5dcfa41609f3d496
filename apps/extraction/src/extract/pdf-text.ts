import { getDocumentProxy } from 'unpdf';
import { inflateSync } from 'node:zlib';

export class UnreadablePdfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnreadablePdfError';
  }
}

interface TextItem {
  str: string;
  transform: number[];
  width: number;
}

/** A PDF refused for what it would cost to read, not for being broken. */
export class PdfLimitError extends UnreadablePdfError {
  constructor(message: string) {
    super(message);
    this.name = 'PdfLimitError';
  }
}

export interface PdfLimits {
  maxPages: number;
  /** All of the file's streams, inflated, together. */
  maxDecompressedBytes: number;
}

/**
 * What the file's streams inflate to, counted before PDF.js reads any of them and stopped as
 * soon as the budget is spent: a 65 KB "PDF bomb" that inflates to 1 GiB is refused after
 * `budget` bytes, never held in memory whole. Streams that are not Flate count as stored.
 */
export function checkDecompressedSize(bytes: Buffer, budget: number): void {
  let total = 0;
  let at = 0;
  for (;;) {
    const start = bytes.indexOf('stream', at, 'latin1');
    if (start < 0) return;
    let body = start + 6;
    // Only the keyword itself: `endstream` and words that merely end in "stream" are skipped.
    const before = bytes[start - 1];
    if (before !== undefined && /[A-Za-z]/.test(String.fromCharCode(before))) {
      at = body;
      continue;
    }
    if (bytes[body] === 0x0d) body++;
    if (bytes[body] === 0x0a) body++;
    const end = bytes.indexOf('endstream', body, 'latin1');
    if (end < 0) return;
    const raw = bytes.subarray(body, end);
    const left = budget - total;
    let size = raw.length;
    if (raw[0] === 0x78) {
      try {
        size = inflateSync(raw, {
          maxOutputLength: left + 1,
          finishFlush: 2 /* Z_SYNC_FLUSH */,
        }).length;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') size = left + 1;
      }
    }
    total += size;
    if (total > budget)
      throw new PdfLimitError(
        `the PDF inflates to more than ${budget} bytes (the limit per file); it was not read`,
      );
    at = end + 9;
  }
}

/**
 * The text of a PDF as lines in reading order: items are grouped by baseline and sorted
 * left to right; a wide horizontal gap becomes three spaces, so columns stay apart. A file
 * past the limits is refused with its reason, never read in part.
 */
export async function pdfLines(
  bytes: Buffer,
  limits: PdfLimits = { maxPages: 200, maxDecompressedBytes: 256 * 1024 * 1024 },
): Promise<string[]> {
  return (await pdfContent(bytes, limits)).lines;
}

/** A run of text on a line with no wide gap in it, and where it starts and ends (points). */
export interface TextCell {
  text: string;
  x0: number;
  x1: number;
}

/** A file embedded in the PDF (an e-invoice's XML, for one). */
export interface PdfAttachment {
  name: string;
  content: Uint8Array;
}

/** The PDF's text lines and the files embedded in it, from one read. */
export async function pdfContent(
  bytes: Buffer,
  limits: PdfLimits = { maxPages: 200, maxDecompressedBytes: 256 * 1024 * 1024 },
): Promise<{ lines: string[]; cells: TextCell[][]; attachments: PdfAttachment[] }> {
  if (bytes.subarray(0, 1024).indexOf('%PDF-') < 0) throw new UnreadablePdfError('not a PDF');
  checkDecompressedSize(bytes, limits.maxDecompressedBytes);
  let doc;
  try {
    doc = await getDocumentProxy(new Uint8Array(bytes), { isEvalSupported: false, verbosity: 0 });
  } catch (err) {
    throw new UnreadablePdfError(`unreadable PDF: ${(err as Error).message}`);
  }
  try {
    // Embedded files are inside the streams already counted against the inflation budget.
    const embedded = ((await doc.getAttachments()) ?? {}) as Record<
      string,
      { filename?: string; content?: Uint8Array }
    >;
    const attachments = Object.entries(embedded).flatMap(([key, a]) =>
      a?.content ? [{ name: a.filename ?? key, content: a.content }] : [],
    );
    if (doc.numPages > limits.maxPages)
      throw new PdfLimitError(
        `the PDF has ${doc.numPages} pages; at most ${limits.maxPages} are read per file`,
      );
    const lines: string[] = [];
    const cells: TextCell[][] = [];
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p);
      const content = await page.getTextContent();
      const rows = new Map<number, TextItem[]>();
      for (const item of content.items as TextItem[]) {
        if (typeof item.str !== 'string' || !item.str.trim()) continue;
        const y = Math.round(item.transform[5]);
        const key = [...rows.keys()].find((k) => Math.abs(k - y) <= 2) ?? y;
        rows.set(key, [...(rows.get(key) ?? []), item]);
      }
      for (const y of [...rows.keys()].sort((a, b) => b - a)) {
        const items = rows.get(y)!.sort((a, b) => a.transform[4] - b.transform[4]);
        // Cells: runs of text with no wide gap; the line is its cells joined by three spaces.
        const row: TextCell[] = [];
        let end = -Infinity;
        for (const it of items) {
          const gap = it.transform[4] - end;
          const last = row[row.length - 1];
          if (!last || gap > 20) row.push({ text: it.str, x0: it.transform[4], x1: 0 });
          else last.text += (gap > 1 ? ' ' : '') + it.str;
          end = it.transform[4] + it.width;
          row[row.length - 1].x1 = end;
        }
        for (const c of row) c.text = c.text.trim();
        const kept = row.filter((c) => c.text);
        cells.push(kept);
        lines.push(kept.map((c) => c.text).join('   '));
      }
      page.cleanup();
    }
    return { lines, cells, attachments };
  } finally {
    await doc.destroy();
  }
}
