import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  decodePDFRawStream,
  PDFArray,
  PDFDict,
  PDFDocument,
  PDFName,
  PDFRawStream,
  PDFSignature,
} from 'pdf-lib';
import { openForm } from '../apps/pdf-workflow/src/pdf/pdf-forms';

const run = promisify(execFile);

/**
 * A finished PDF as other tools see it: poppler's text (pdftotext) and signature check
 * (pdfsig), qpdf's structural check, and the form fields left (only the signed seal may be).
 */
export interface FinalPdf {
  text: string;
  /** What poppler complained of while reading it (a dangling reference is "Invalid XRef"). */
  popplerErrors: string;
  qpdfCheck: string;
  qpdfOk: boolean;
  signature: string;
  liveFields: string[];
}

export async function inspectFinal(bytes: Buffer): Promise<FinalPdf> {
  const dir = await mkdtemp(join(tmpdir(), 'pdf-check-'));
  try {
    const file = join(dir, 'final.pdf');
    await writeFile(file, bytes);
    const { stdout: text, stderr: popplerErrors } = await run('pdftotext', ['-layout', file, '-'], {
      maxBuffer: 64 << 20,
    });
    let qpdfCheck: string;
    let qpdfOk = true;
    try {
      qpdfCheck = (await run('qpdf', ['--check', file])).stdout;
    } catch (err) {
      qpdfOk = false;
      qpdfCheck = (err as { stdout?: string }).stdout ?? (err as Error).message;
    }
    const signature = await run('pdfsig', [file]).then(
      (r) => r.stdout,
      (err: { stdout?: string; message: string }) => err.stdout ?? err.message,
    );
    const doc = await PDFDocument.load(bytes, { updateMetadata: false });
    const liveFields = doc
      .getForm()
      .getFields()
      .filter((f) => !(f instanceof PDFSignature && f.acroField.dict.get(PDFName.of('V'))))
      .map((f) => f.getName());
    return { text, popplerErrors, qpdfCheck, qpdfOk, signature, liveFields };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Every content stream a page paints, form XObjects followed to any depth. */
export async function drawnContent(bytes: Buffer, pageIndex = 0): Promise<string> {
  const doc = await PDFDocument.load(bytes);
  const decode = (o: unknown) =>
    o instanceof PDFRawStream ? Buffer.from(decodePDFRawStream(o).decode()).toString('latin1') : '';
  const seen = new Set<unknown>();
  const walk = (content: string, resources: PDFDict | undefined): string => {
    let out = content;
    const xobjects = resources?.lookupMaybe(PDFName.of('XObject'), PDFDict);
    for (const [, name] of content.matchAll(/\/([^\s/]+) Do/g)) {
      const x = xobjects?.lookup(PDFName.of(name));
      if (!(x instanceof PDFRawStream) || seen.has(x)) continue;
      seen.add(x);
      out += '\n' + walk(decode(x), x.dict.lookupMaybe(PDFName.of('Resources'), PDFDict));
    }
    return out;
  };
  const page = doc.getPage(pageIndex).node;
  const contents = page.Contents();
  const parts =
    contents instanceof PDFArray
      ? contents.asArray().map((r) => doc.context.lookup(r))
      : [contents];
  return walk(parts.map(decode).join('\n'), page.Resources());
}

/**
 * Whether each checkbox is drawn checked in `final`, against `empty` (the same form with every
 * box unchecked): both are rendered by poppler (pdftoppm, grey, 72 dpi: one pixel a point) and
 * compared inside each widget's box. A field with several widgets counts as drawn when any
 * one differs. Widgets are found in `original`.
 */
export async function checkboxMarks(
  original: Buffer,
  empty: Buffer,
  final: Buffer,
  names: string[],
): Promise<Array<{ name: string; drawn: boolean }>> {
  // Opened as the service opens it: decrypted, orphan widgets adopted.
  const doc = await openForm(original);
  const pages = doc.getPages();
  // Each widget's page, from the pages' annotation lists (a widget's /P is optional).
  const pageOf = new Map<unknown, number>();
  pages.forEach((p, i) =>
    p.node
      .Annots()
      ?.asArray()
      .forEach((a) => pageOf.set(doc.context.lookup(a), i)),
  );
  const byName = new Map(
    doc
      .getForm()
      .getFields()
      .map((f) => [f.getName(), f]),
  );
  const boxes = names.map((name) => ({
    name,
    widgets: byName
      .get(name)!
      .acroField.getWidgets()
      .map((w) => ({ page: pageOf.get(w.dict) ?? -1, rect: w.getRectangle() })),
  }));
  const [before, after] = await Promise.all([renderGrey(empty), renderGrey(final)]);
  return boxes.map(({ name, widgets }) => ({
    name,
    drawn: widgets.some(
      (w) =>
        w.page >= 0 &&
        changedIn(before[w.page], after[w.page], w.rect, pages[w.page].getHeight()) > 0,
    ),
  }));
}

interface Grey {
  width: number;
  height: number;
  pixels: Buffer;
}

async function renderGrey(pdf: Buffer): Promise<Grey[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pdf-render-'));
  try {
    const file = join(dir, 'in.pdf');
    await writeFile(file, pdf);
    await run('pdftoppm', ['-gray', '-r', '72', file, join(dir, 'p')], { maxBuffer: 1 << 20 });
    const names = (await readdir(dir)).filter((f) => f.endsWith('.pgm')).sort();
    return Promise.all(names.map(async (n) => parsePgm(await readFile(join(dir, n)))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function parsePgm(b: Buffer): Grey {
  // "P5\n<width> <height>\n<max>\n" then one byte a pixel.
  const header = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(b.subarray(0, 64).toString('latin1'))!;
  return {
    width: Number(header[1]),
    height: Number(header[2]),
    pixels: b.subarray(header[0].length),
  };
}

/** Pixels inside a widget's box (its border left out) that differ clearly between two renders. */
function changedIn(
  a: Grey | undefined,
  b: Grey | undefined,
  r: { x: number; y: number; width: number; height: number },
  pageHeight: number,
): number {
  if (!a || !b || a.width !== b.width || a.height !== b.height) return 0;
  let n = 0;
  const x0 = Math.max(0, Math.ceil(r.x + 1));
  const x1 = Math.min(a.width, Math.floor(r.x + r.width - 1));
  const y0 = Math.max(0, Math.ceil(pageHeight - (r.y + r.height) + 1));
  const y1 = Math.min(a.height, Math.floor(pageHeight - r.y - 1));
  for (let y = y0; y < y1; y++)
    for (let x = x0; x < x1; x++) {
      const i = y * a.width + x;
      if (Math.abs(a.pixels[i] - b.pixels[i]) > 48) n++;
    }
  return n;
}
