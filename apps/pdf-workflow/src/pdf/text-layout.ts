import bidiFactory from 'bidi-js';
import { fontFor, isInvisible, type LoadedFont } from './fonts';

/**
 * Lays a field's answer out in its box: split into runs of one font and one direction (the
 * Unicode bidirectional algorithm, bidi-js), wrapped in a multiline box, shrunk until it fits.
 * Pure arithmetic over font metrics, so the save can run it to refuse what would not fit and
 * the fill draws exactly what the save accepted. Shaping (Arabic joining, ligatures) is
 * fontkit's, through the same `layout` call that measures.
 */

const bidi = bidiFactory();

export interface Box {
  width: number;
  height: number;
}

export interface TextSpec {
  /** The field's own size (its /DA); 0 or absent: as large as fits. */
  fontSize?: number;
  multiline?: boolean;
  /** Comb fields: exactly maxLength cells, one character in each. */
  comb?: boolean;
  maxLength?: number;
  /** 0 left, 1 centred, 2 right (the field's /Q). */
  quadding?: number;
}

export interface Run {
  font: number;
  text: string;
  x: number;
  width: number;
}
export interface Line {
  /** Baseline, from the bottom of the box. */
  y: number;
  runs: Run[];
}
export interface Layout {
  size: number;
  lines: Line[];
}

export class DoesNotFit extends Error {}

/** The smallest size text is drawn at; below it an answer is refused at save as too long. */
export const MIN_FONT_SIZE = 5;
const AUTO_MAX = 12;
const PADDING = 2;
const LINE_GAP = 1.15;

export function layoutText(value: string, box: Box, spec: TextSpec, chain: LoadedFont[]): Layout {
  const text = clean(value);
  if (spec.comb && spec.maxLength) return comb(text, box, spec, chain);
  const metrics = chain[0].font;
  const em = (metrics.ascent - metrics.descent) / metrics.unitsPerEm;
  const innerW = Math.max(1, box.width - 2 * PADDING);
  const innerH = Math.max(1, box.height - 2 * PADDING);
  const given = spec.fontSize && spec.fontSize > 0 ? spec.fontSize : 0;
  if (!spec.multiline) {
    const line = text.replace(/\s*\n\s*/g, ' ');
    let size = given || Math.min(AUTO_MAX, innerH / em);
    const w = widthAt(line, 1, chain);
    if (w * size > innerW) size = innerW / w;
    size = Math.floor(size * 100) / 100;
    if (size < MIN_FONT_SIZE && line.length > 0) throw new DoesNotFit('too long for its box');
    const y = (box.height - size * em) / 2 + (-metrics.descent / metrics.unitsPerEm) * size;
    return { size, lines: [placeLine(line, y, size, box.width, spec.quadding, chain)] };
  }
  let size = given || AUTO_MAX;
  for (;;) {
    const lines = wrap(text, innerW, size, chain);
    const lineH = size * em * LINE_GAP;
    if (lines.length * lineH <= innerH + 0.01 || size <= MIN_FONT_SIZE) {
      if (lines.length * lineH > innerH + 0.01) throw new DoesNotFit('too long for its box');
      const top = box.height - PADDING - (metrics.ascent / metrics.unitsPerEm) * size;
      return {
        size,
        lines: lines.map((l, i) =>
          placeLine(l, top - i * lineH, size, box.width, spec.quadding, chain),
        ),
      };
    }
    size = Math.max(MIN_FONT_SIZE, Math.floor(size * 0.9 * 100) / 100);
  }
}

/** An answer as it is counted, stored and drawn: composed (NFC), every line end one \n. */
export function composed(value: string): string {
  return value.normalize('NFC').replace(/\r\n?/g, '\n');
}

/** What is drawn: composed, invisible characters dropped, tabs as spaces. */
function clean(value: string): string {
  return [...composed(value)]
    .filter((c) => !isInvisible(c))
    .join('')
    .replace(/\t/g, ' ');
}

function comb(text: string, box: Box, spec: TextSpec, chain: LoadedFont[]): Layout {
  const cells = spec.maxLength!;
  const chars = [...text.replace(/\n/g, ' ')];
  if (chars.length > cells) throw new DoesNotFit(`more characters than its ${cells} boxes`);
  const cell = box.width / cells;
  const metrics = chain[0].font;
  const em = (metrics.ascent - metrics.descent) / metrics.unitsPerEm;
  let size =
    spec.fontSize && spec.fontSize > 0 ? spec.fontSize : Math.min(AUTO_MAX, box.height / em);
  const widest = Math.max(0, ...chars.map((c) => widthAt(c, 1, chain)));
  if (widest * size > cell) size = cell / widest;
  const y = (box.height - size * em) / 2 + (-metrics.descent / metrics.unitsPerEm) * size;
  const runs = chars.map((c, i): Run => {
    const font = pickFonts(c, chain)[0]?.font ?? 0;
    const width = widthAt(c, size, chain);
    return { font, text: c, width, x: i * cell + (cell - width) / 2 };
  });
  return { size, lines: [{ y, runs }] };
}

/** Width of a text at a size, each run measured in its own font. */
export function widthAt(text: string, size: number, chain: LoadedFont[]): number {
  const key = `${chain[0].path}|${text}`;
  let w = widths.get(key);
  if (w === undefined) {
    w = 0;
    for (const r of pickFonts(text, chain)) w += runWidth(chain[r.font], r.text, 1);
    if (widths.size > 20_000) widths.clear();
    widths.set(key, w);
  }
  return w * size;
}

/** Widths at size 1 of the words measured lately: wrapping and shrinking measure them again. */
const widths = new Map<string, number>();

function runWidth(f: LoadedFont, text: string, size: number): number {
  return (f.font.layout(text).advanceWidth / f.font.unitsPerEm) * size;
}

/**
 * Groups characters into runs of one font and one bidi level. A character takes the first
 * font of the chain that has it, but a neutral one (space, digit, punctuation, combining mark)
 * stays in the run it sits in when that run's font has it.
 */
function runsOf(
  chars: Array<{ ch: string; level: number }>,
  chain: LoadedFont[],
): Array<{ font: number; level: number; text: string }> {
  const out: Array<{ font: number; level: number; text: string }> = [];
  for (const { ch, level } of chars) {
    const cp = ch.codePointAt(0)!;
    const last = out[out.length - 1];
    const font =
      last &&
      last.level === level &&
      NEUTRAL.test(ch) &&
      chain[last.font].font.hasGlyphForCodePoint(cp)
        ? last.font
        : Math.max(0, fontFor(chain, cp));
    if (last && last.font === font && last.level === level) last.text += ch;
    else out.push({ font, level, text: ch });
  }
  return out;
}

const NEUTRAL = /[\p{Script=Common}\p{Script=Inherited}]/u;

/** Runs of one font, for measuring (no bidi). */
function pickFonts(text: string, chain: LoadedFont[]): Array<{ font: number; text: string }> {
  return runsOf(
    [...text].map((ch) => ({ ch, level: 0 })),
    chain,
  );
}

/**
 * One line in visual order: runs of one font and one bidi level, reordered by rule L2
 * (reverse every sequence at or above each odd level, highest first). fontkit reverses the
 * glyphs inside a right-to-left run itself; mirrored brackets are swapped here.
 */
function placeLine(
  line: string,
  y: number,
  size: number,
  boxWidth: number,
  quadding: number | undefined,
  chain: LoadedFont[],
): Line {
  const { levels } = bidi.getEmbeddingLevels(line, 'auto');
  const mirrored = bidi.getMirroredCharactersMap(line, { levels } as never);
  const chars: Array<{ ch: string; level: number }> = [];
  let i = 0;
  for (const ch of line) {
    chars.push({ ch: mirrored.get(i) ?? ch, level: levels[i] });
    i += ch.length;
  }
  const pieces = runsOf(chars, chain);
  const max = Math.max(0, ...pieces.map((p) => p.level));
  const minOdd = Math.min(...pieces.map((p) => p.level).filter((l) => l % 2 === 1), Infinity);
  for (let lvl = max; lvl >= minOdd && lvl > 0; lvl--) {
    for (let s = 0; s < pieces.length;) {
      if (pieces[s].level < lvl) {
        s++;
        continue;
      }
      let e = s;
      while (e < pieces.length && pieces[e].level >= lvl) e++;
      pieces.splice(s, e - s, ...pieces.slice(s, e).reverse());
      s = e;
    }
  }
  const runs: Run[] = [];
  let x = 0;
  for (const p of pieces) {
    const width = runWidth(chain[p.font], p.text, size);
    runs.push({ font: p.font, text: p.text, x, width });
    x += width;
  }
  const offset =
    quadding === 1 ? (boxWidth - x) / 2 : quadding === 2 ? boxWidth - PADDING - x : PADDING;
  for (const r of runs) r.x += offset;
  return { y, runs };
}

/**
 * Greedy wrapping at spaces (and between CJK characters, which have none); a word wider than
 * the line is broken where it must be. Explicit line breaks are kept.
 */
function wrap(text: string, width: number, size: number, chain: LoadedFont[]): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    const tokens =
      para.match(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]|\S+|\s+/gu) ?? [];
    let line = '';
    let lineW = 0;
    for (const tok of tokens) {
      // Words add up (kerning across a word's edge is ignored; the margin absorbs it).
      const w = widthAt(tok, size, chain);
      if (lineW + w <= width) {
        line += tok;
        lineW += w;
        continue;
      }
      if (/\s/.test(tok)) {
        out.push(line.trimEnd());
        line = '';
        lineW = 0;
        continue;
      }
      if (line.trim()) out.push(line.trimEnd());
      const parts = breakWord(tok, width, size, chain);
      out.push(...parts.slice(0, -1));
      line = parts[parts.length - 1];
      lineW = widthAt(line, size, chain);
    }
    out.push(line.trimEnd());
  }
  return out;
}

/** A word cut into pieces that each fit the line, measured character by character once. */
function breakWord(word: string, width: number, size: number, chain: LoadedFont[]): string[] {
  const parts: string[] = [];
  let part = '';
  let w = 0;
  for (const ch of word) {
    const cw = widthAt(ch, size, chain);
    if (part && w + cw > width) {
      parts.push(part);
      part = '';
      w = 0;
    }
    part += ch;
    w += cw;
  }
  parts.push(part);
  return parts;
}
