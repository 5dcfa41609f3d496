import { copyFileSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createWorker, OEM, PSM, type Worker } from 'tesseract.js';
import type { TextCell } from './pdf-text';

/**
 * OCR of page images with tesseract.js (Tesseract's LSTM engine compiled to WebAssembly), the
 * language data from the `@tesseract.js-data/*` packages (integer-quantised "best" models):
 * nothing is downloaded at run time. Runs inside the extraction worker thread.
 */
export type OcrLanguage = 'eng' | 'deu' | 'fra' | 'nld';

/** One recognised line: its cells (words joined where no wide gap parts them) and confidence. */
export interface OcrLine {
  cells: TextCell[];
  /** 0..1: Tesseract's confidence in the line's words. */
  confidence: number;
}

/**
 * Tesseract reads language files from one directory; the packages keep one each. A directory
 * of links to them (a copy where links are not allowed) under the temporary directory, which
 * is writable even with a read-only root file system.
 */
function languageDir(languages: OcrLanguage[]): string {
  const dir = join(tmpdir(), `extraction-tessdata-${languages.join('-')}`);
  mkdirSync(dir, { recursive: true });
  for (const lang of languages) {
    const target = join(dir, `${lang}.traineddata.gz`);
    if (existsSync(target)) continue;
    const pkg = dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`));
    const source = join(pkg, '4.0.0_best_int', `${lang}.traineddata.gz`);
    try {
      symlinkSync(source, target);
    } catch {
      copyFileSync(source, target);
    }
  }
  return dir;
}

let worker: { languages: string; ready: Promise<Worker> } | null = null;

/** This thread's Tesseract worker for these languages (made once; remade if they change). */
async function tesseract(languages: OcrLanguage[]): Promise<Worker> {
  const key = languages.join('+');
  if (worker?.languages !== key) {
    const previous = worker;
    worker = {
      languages: key,
      ready: createWorker(languages, OEM.LSTM_ONLY, {
        langPath: languageDir(languages),
        gzip: true,
        cacheMethod: 'none',
      }).then(async (w) => {
        // Blocks of text anywhere on the page (invoices are not one column of prose).
        await w.setParameters({ tessedit_pageseg_mode: PSM.AUTO, preserve_interword_spaces: '1' });
        return w;
      }),
    };
    if (previous) void previous.ready.then((w) => w.terminate()).catch(() => undefined);
  }
  return worker.ready;
}

/**
 * The lines of a page image, top to bottom, each as cells in page points (the image is
 * `scale` pixels per point): words closer than `gap` points join one cell, as the text layer's
 * cells do, so the same layout rules read both.
 */
export async function recognise(
  png: Uint8Array,
  scale: number,
  languages: OcrLanguage[],
  gap = 20,
): Promise<OcrLine[]> {
  const w = await tesseract(languages);
  // The image's resolution, which a rendered PNG does not record (Tesseract would guess).
  await w.setParameters({ user_defined_dpi: String(Math.round(72 * scale)) });
  const { data } = await w.recognize(Buffer.from(png), {}, { blocks: true });
  const lines = (data.blocks ?? []).flatMap((b) => b.paragraphs.flatMap((p) => p.lines));
  lines.sort((a, b) => a.bbox.y0 - b.bbox.y0 || a.bbox.x0 - b.bbox.x0);
  const out: OcrLine[] = [];
  for (const line of lines) {
    const words = line.words.filter((x) => x.text.trim());
    if (words.length === 0) continue;
    const cells: TextCell[] = [];
    let end = -Infinity;
    for (const word of words) {
      const x0 = word.bbox.x0 / scale;
      const x1 = word.bbox.x1 / scale;
      const last = cells[cells.length - 1];
      if (last && x0 - end <= gap) {
        last.text += ` ${word.text}`;
        last.x1 = x1;
      } else cells.push({ text: word.text, x0, x1 });
      end = x1;
    }
    const confidence = words.reduce((s, x) => s + x.confidence, 0) / words.length / 100;
    out.push({ cells, confidence: Math.max(0, Math.min(1, confidence)) });
  }
  return out;
}

/** Ends this thread's Tesseract worker (tests; a thread's exit ends it anyway). */
export async function stopOcr(): Promise<void> {
  const w = worker;
  worker = null;
  if (w) await (await w.ready).terminate();
}
