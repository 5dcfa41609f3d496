import '../../../apps/extraction/src/extract/array-buffer-transfer';
import { PDFDocument } from 'pdf-lib';
import { renderPageAsImage } from 'unpdf';

/**
 * A "scan" of a PDF: each page rendered to an image (about 150 dpi) and put on a page of its
 * own with no text layer, as a scanner's PDF has. What OCR must read back.
 */
export async function scannedPdf(pdf: Buffer, scale = 2): Promise<Buffer> {
  const src = await PDFDocument.load(pdf);
  const out = await PDFDocument.create();
  for (let p = 1; p <= src.getPageCount(); p++) {
    const { width, height } = src.getPage(p - 1).getSize();
    const png = await renderPageAsImage(new Uint8Array(pdf), p, {
      canvasImport: () => import('@napi-rs/canvas'),
      scale,
    });
    const image = await out.embedPng(new Uint8Array(png));
    out.addPage([width, height]).drawImage(image, { x: 0, y: 0, width, height });
  }
  return Buffer.from(await out.save());
}
