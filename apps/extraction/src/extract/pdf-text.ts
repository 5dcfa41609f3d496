import './array-buffer-transfer';
import { getDocumentProxy, renderPageAsImage } from 'unpdf';
import { type OcrLanguage, recognise } from './ocr';
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

/**
 * A page's text items as rows of cells, top to bottom: items are grouped by baseline and
 * sorted left to right; a wide horizontal gap starts a new cell, so columns stay apart.
 */
function rowsOf(items: TextItem[]): TextCell[][] {
  const rows = new Map<number, TextItem[]>();
  for (const item of items) {
    const y = Math.round(item.transform[5]);
    const key = [...rows.keys()].find((k) => Math.abs(k - y) <= 2) ?? y;
    rows.set(key, [...(rows.get(key) ?? []), item]);
  }
  const out: TextCell[][] = [];
  for (const y of [...rows.keys()].sort((a, b) => b - a)) {
    const sorted = rows.get(y)!.sort((a, b) => a.transform[4] - b.transform[4]);
    const row: TextCell[] = [];
    let end = -Infinity;
    for (const it of sorted) {
      const gap = it.transform[4] - end;
      const last = row[row.length - 1];
      if (!last || gap > 20) row.push({ text: it.str, x0: it.transform[4], x1: 0, parts: [] });
      else last.text += (gap > 1 ? ' ' : '') + it.str;
      end = it.transform[4] + it.width;
      const cell = row[row.length - 1];
      cell.x1 = end;
      if (it.str.trim()) cell.parts!.push({ text: it.str.trim(), x0: it.transform[4], x1: end });
    }
    for (const c of row) c.text = c.text.trim();
    out.push(row.filter((c) => c.text));
  }
  return out;
}

/** A run of text on a line with no wide gap in it, and where it starts and ends (points). */
export interface TextCell {
  text: string;
  x0: number;
  x1: number;
  /** The text items it is made of, with their own positions (a table header's words). */
  parts?: Array<{ text: string; x0: number; x1: number }>;
}

/** A file embedded in the PDF (an e-invoice's XML, for one). */
export interface PdfAttachment {
  name: string;
  content: Uint8Array;
}

/** What a page of text needs before it is taken as a scan (fewer characters: OCR). */
const MIN_TEXT_CHARS = 20;
/** Pixels per point a scan is rendered at for OCR (about 200 dpi). */
const OCR_SCALE = 2.8;
/** Pixels per point of a page image sent to a model (about 110 dpi: legible, not large). */
const IMAGE_SCALE = 1.5;

/** How a file's pages are read: the page cap and, for pages without text, OCR. */
export interface ReadOptions {
  ocr?: { languages: OcrLanguage[]; maxPages: number };
  /** Render the first pages as PNG too (for a model that reads images). */
  images?: number;
}

/** The PDF's text and the files embedded in it, from one read. */
export interface PdfContent {
  lines: string[];
  cells: TextCell[][];
  /** Per line: the OCR confidence (0..1) of a line recognised on a scan; null from the text layer. */
  ocr: Array<number | null>;
  attachments: PdfAttachment[];
  /** Pages in the file, and how many were read (the cap) and OCR'd. */
  pages: number;
  pagesRead: number;
  pagesOcred: number;
  /** What was not read and why (past the page cap, scans past the OCR cap). */
  warnings: string[];
  /** The first pages as PNG, when asked for. */
  images: Uint8Array[];
}

/**
 * The PDF's text lines and the files embedded in it, from one read. Pages past the cap are
 * not read (a warning says so); a page with no text layer is rendered and OCR'd when the
 * options ask for it.
 */
export async function pdfContent(
  bytes: Buffer,
  limits: PdfLimits = { maxPages: 200, maxDecompressedBytes: 256 * 1024 * 1024 },
  options: ReadOptions = {},
): Promise<PdfContent> {
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
    const warnings: string[] = [];
    const pagesRead = Math.min(doc.numPages, limits.maxPages);
    if (doc.numPages > limits.maxPages)
      warnings.push(
        `the PDF has ${doc.numPages} pages; only the first ${limits.maxPages} were read (the limit per file)`,
      );
    const out: PdfContent = {
      lines: [],
      cells: [],
      ocr: [],
      attachments,
      pages: doc.numPages,
      pagesRead,
      pagesOcred: 0,
      warnings,
      images: [],
    };
    let scansSkipped = 0;
    for (let p = 1; p <= pagesRead; p++) {
      const page = await doc.getPage(p);
      const content = await page.getTextContent();
      const items = (content.items as TextItem[]).filter(
        (item) => typeof item.str === 'string' && item.str.trim(),
      );
      const chars = items.reduce((n, it) => n + it.str.replace(/\s/g, '').length, 0);
      if (chars < MIN_TEXT_CHARS && options.ocr) {
        if (out.pagesOcred < options.ocr.maxPages) {
          const png = await renderPageAsImage(doc, p, {
            canvasImport: () => import('@napi-rs/canvas'),
            scale: OCR_SCALE,
          });
          for (const line of await recognise(
            new Uint8Array(png),
            OCR_SCALE,
            options.ocr.languages,
          )) {
            out.cells.push(line.cells);
            out.lines.push(line.cells.map((c) => c.text).join('   '));
            out.ocr.push(line.confidence);
          }
          out.pagesOcred++;
          page.cleanup();
          continue;
        }
        scansSkipped++;
      }
      for (const row of rowsOf(items)) {
        out.cells.push(row);
        out.lines.push(row.map((c) => c.text).join('   '));
        out.ocr.push(null);
      }
      page.cleanup();
    }
    for (let p = 1; p <= Math.min(options.images ?? 0, pagesRead); p++)
      out.images.push(
        new Uint8Array(
          await renderPageAsImage(doc, p, {
            canvasImport: () => import('@napi-rs/canvas'),
            scale: IMAGE_SCALE,
          }),
        ),
      );
    if (scansSkipped)
      warnings.push(
        `${scansSkipped} scanned page(s) were not OCR'd: at most ${options.ocr!.maxPages} are per file`,
      );
    return out;
  } finally {
    await doc.destroy();
  }
}
