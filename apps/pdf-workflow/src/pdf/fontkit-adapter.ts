import * as fontkit from 'fontkit';
import type { Font } from 'fontkit';
import { Readable } from 'node:stream';

/**
 * pdf-lib embeds fonts through a fontkit it is given. Its own fork (@pdf-lib/fontkit 1.1)
 * still has fontkit's loca bug (foliojs/fontkit#191, fixed upstream in 2019): a subset of a
 * long-loca font with odd-length glyphs, Noto's among them, loses most of its glyphs. This is
 * upstream fontkit 2 in the shape pdf-lib calls: only the subset's `encodeStream` (fontkit 2
 * has `encode`) is adapted.
 */
export const fontkitForPdfLib = {
  create(data: Uint8Array, postscriptName?: string): Font {
    const font = fontkit.create(Buffer.from(data), postscriptName) as Font;
    const createSubset = font.createSubset.bind(font);
    return new Proxy(font, {
      get(target, prop, receiver) {
        if (prop === 'createSubset')
          return () => {
            const subset = createSubset();
            return new Proxy(subset, {
              get(s, p, r) {
                if (p === 'encodeStream') return () => Readable.from([Buffer.from(s.encode())]);
                const v = Reflect.get(s, p, r) as unknown;
                return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(s) : v;
              },
            });
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  },
};
