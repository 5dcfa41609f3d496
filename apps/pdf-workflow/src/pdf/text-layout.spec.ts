import { describeChar, fontChain, unrenderable } from './fonts';
import { DoesNotFit, layoutText, MIN_FONT_SIZE } from './text-layout';

const chain = fontChain();
const texts = (l: ReturnType<typeof layoutText>) =>
  l.lines.map((line) => line.runs.map((r) => r.text).join(''));

describe('text layout', () => {
  it('draws every script the platform promises, and names what it cannot', () => {
    for (const name of [
      'Łukasz Wiśniewski',
      'Ελένη',
      'Иван',
      '王小明',
      'محمد علي',
      'דוד כהן',
      'José\u200b',
      'Jose\u0301',
      '👍',
    ])
      expect(unrenderable(name, chain)).toEqual([]);
    // A private-use character and a Linear B syllable: no font of the chain has them.
    expect(unrenderable('A\ue000\u{10000}', chain).map(describeChar)).toEqual([
      'U+E000',
      '"𐀀" (U+10000)',
    ]);
  });

  it('picks a font per run and orders right-to-left runs visually', () => {
    const l = layoutText('Dr. محمد علي 王', { width: 400, height: 20 }, {}, chain);
    const runs = l.lines[0].runs;
    // Latin first, then the Arabic run (one font, shaped by fontkit), then the CJK one.
    expect(runs.map((r) => r.font)).toEqual([0, 1, 0, 3]);
    expect(runs[1].text).toBe('محمد علي');
    for (let i = 1; i < runs.length; i++) expect(runs[i].x).toBeGreaterThan(runs[i - 1].x);
  });

  it('puts a Hebrew name with a Latin word in bidi order', () => {
    const l = layoutText('שלום ABC', { width: 300, height: 20 }, {}, chain);
    // A right-to-left paragraph: the Latin word is drawn left of the Hebrew one.
    const runs = l.lines[0].runs;
    expect(runs[0].text.trim()).toBe('ABC');
    expect(runs[runs.length - 1].text.trim()).toBe('שלום');
  });

  it('breaks a CRLF once, wraps long text and shrinks it to fit', () => {
    const l = layoutText('one\r\ntwo', { width: 200, height: 60 }, { multiline: true }, chain);
    expect(texts(l)).toEqual(['one', 'two']);
    const long = 'word '.repeat(400);
    const fit = layoutText(long, { width: 300, height: 200 }, { multiline: true }, chain);
    expect(fit.size).toBeLessThan(12);
    expect(fit.size).toBeGreaterThanOrEqual(MIN_FONT_SIZE);
    expect(texts(fit).join(' ').replace(/\s+/g, ' ').trim()).toBe(long.trim());
  });

  it('refuses what would not fit at a legible size', () => {
    expect(() =>
      layoutText('x'.repeat(5000), { width: 100, height: 20 }, { multiline: true }, chain),
    ).toThrow(DoesNotFit);
    expect(() => layoutText('California', { width: 10, height: 12 }, {}, chain)).toThrow(
      DoesNotFit,
    );
  });

  it('puts one character in each comb cell', () => {
    const l = layoutText('123', { width: 90, height: 20 }, { comb: true, maxLength: 3 }, chain);
    expect(l.lines[0].runs.map((r) => Math.round(r.x + r.width / 2))).toEqual([15, 45, 75]);
  });
});
