import { getDocumentProxy } from 'unpdf';

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

/**
 * The text of a PDF as lines in reading order: items are grouped by baseline and sorted
 * left to right; a wide horizontal gap becomes three spaces, so columns stay apart.
 */
export async function pdfLines(bytes: Buffer, maxPages = 200): Promise<string[]> {
  if (bytes.subarray(0, 1024).indexOf('%PDF-') < 0) throw new UnreadablePdfError('not a PDF');
  let doc;
  try {
    doc = await getDocumentProxy(new Uint8Array(bytes), { isEvalSupported: false, verbosity: 0 });
  } catch (err) {
    throw new UnreadablePdfError(`unreadable PDF: ${(err as Error).message}`);
  }
  try {
    const lines: string[] = [];
    for (let p = 1; p <= Math.min(doc.numPages, maxPages); p++) {
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
        let line = '';
        let end = -Infinity;
        for (const it of items) {
          const gap = it.transform[4] - end;
          if (line) line += gap > 20 ? '   ' : gap > 1 ? ' ' : '';
          line += it.str;
          end = it.transform[4] + it.width;
        }
        lines.push(line.trim());
      }
      page.cleanup();
    }
    return lines;
  } finally {
    await doc.destroy();
  }
}
