import * as fontkit from 'fontkit';
import type { Font } from 'fontkit';
import { readFileSync } from 'node:fs';

/**
 * The fonts answers are drawn with, from npm packages (nothing is fetched at run time), in the
 * order a character looks for one: the first that has a glyph draws it. Noto covers Latin,
 * Greek and Cyrillic; Arabic (Naskh) and Hebrew come with their shaping tables; Noto Sans SC
 * covers Chinese, Japanese kana and Latin; Noto Emoji draws emoji in outline.
 */
export const FONT_CHAIN = [
  '@expo-google-fonts/noto-sans/400Regular/NotoSans_400Regular.ttf',
  '@expo-google-fonts/noto-naskh-arabic/400Regular/NotoNaskhArabic_400Regular.ttf',
  '@expo-google-fonts/noto-sans-hebrew/400Regular/NotoSansHebrew_400Regular.ttf',
  '@expo-google-fonts/noto-sans-sc/400Regular/NotoSansSC_400Regular.ttf',
  '@expo-google-fonts/noto-emoji/400Regular/NotoEmoji_400Regular.ttf',
] as const;

/** Typed signatures: a handwriting face (Latin); other scripts fall back to the chain. */
export const SIGNATURE_FONT =
  '@expo-google-fonts/dancing-script/400Regular/DancingScript_400Regular.ttf';

export interface LoadedFont {
  path: string;
  bytes: Buffer;
  font: Font;
}

const loaded = new Map<string, LoadedFont>();

/** A font, parsed once per thread (fontkit reads its tables lazily, so this is cheap). */
export function loadFont(path: string): LoadedFont {
  let f = loaded.get(path);
  if (!f) {
    const bytes = readFileSync(require.resolve(path));
    f = { path, bytes, font: fontkit.create(bytes) as Font };
    loaded.set(path, f);
  }
  return f;
}

export function fontChain(signature = false): LoadedFont[] {
  const chain = FONT_CHAIN.map(loadFont);
  return signature ? [loadFont(SIGNATURE_FONT), ...chain] : chain;
}

/**
 * Characters drawn as nothing: zero-width spaces and joiners, bidi marks, the byte-order mark,
 * variation selectors. They are kept in the answer but need no glyph (a pasted U+200B must not
 * make a name unrenderable).
 */
const INVISIBLE =
  /^(?:[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]|[\ufe00-\ufe0f])$/u;

export function isInvisible(ch: string): boolean {
  return INVISIBLE.test(ch);
}

/** The index in `chain` of the first font that draws `cp`, or -1. */
export function fontFor(chain: LoadedFont[], cp: number): number {
  for (let i = 0; i < chain.length; i++) if (chain[i].font.hasGlyphForCodePoint(cp)) return i;
  return -1;
}

/** The distinct characters of `text` that no font of the chain draws (line breaks aside). */
export function unrenderable(text: string, chain = fontChain()): string[] {
  const out = new Set<string>();
  for (const ch of text) {
    if (ch === '\n' || ch === '\r' || ch === '\t' || isInvisible(ch)) continue;
    if (fontFor(chain, ch.codePointAt(0)!) < 0) out.add(ch);
  }
  return [...out];
}

/** How a character is named in an error: itself and its code point (U+XXXX). */
export function describeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  const hex = cp.toString(16).toUpperCase().padStart(4, '0');
  return /\p{C}/u.test(ch) ? `U+${hex}` : `"${ch}" (U+${hex})`;
}
