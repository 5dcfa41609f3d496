import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { PDFDict, PDFDocument, PDFName, PDFRawStream } from 'pdf-lib';
import { corpusFile, describeWithCorpus } from '@app/testing';
import { checkRendering, fill } from './pdf-fill';
import { checkValue, readFields } from './pdf-forms';
import { devSealKey } from './seal';

/** A real PNG (grey, 8 bits): a dark stroke on white, as a drawn signature would be. */
function signaturePng(width = 120, height = 40): Buffer {
  const rows: Buffer[] = [];
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(width + 1, 255);
    row[0] = 0; // filter: none
    for (let x = 0; x < width; x++)
      if (Math.abs(y - height / 2 - 10 * Math.sin(x / 12)) < 2) row[x + 1] = 0;
    rows.push(row);
  }
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const limits = { singleLine: 1000, multiline: 2000 };

describeWithCorpus('signature fields on a real form', ['forms', 'pdflib_sample_form.pdf'], () => {
  const form = () => readFileSync(corpusFile('forms', 'pdflib_sample_form.pdf')!);

  it('takes a typed signature, drawn in the handwriting face, and a drawn one as an image', async () => {
    const fields = await readFields(form());
    const sig = fields.find((f) => f.type === 'signature')!;
    expect(sig.box).toBeDefined();
    expect(() => checkValue(sig, 'Eleanor Rigby', limits)).not.toThrow();
    expect(checkRendering(sig, 'Eleanor Rigby')).toBeNull();
    const png = signaturePng();
    const drawn = { image: `data:image/png;base64,${png.toString('base64')}` };
    expect(() => checkValue(sig, drawn, limits)).not.toThrow();
    // What is not a PNG, or no signature at all, is refused at save.
    expect(() =>
      checkValue(sig, { image: Buffer.from('GIF89a').toString('base64') }, limits),
    ).toThrow(/must be a PNG/);
    expect(() => checkValue(sig, '  ', limits)).toThrow(/must not be empty/);

    const seal = await devSealKey();
    const typed = await fill(form(), { [sig.name]: 'Eleanor Rigby' }, { flatten: true, seal });
    const typedDoc = await PDFDocument.load(typed);
    const baseFonts = typedDoc.context
      .enumerateIndirectObjects()
      .map(([, o]) => (o instanceof PDFDict ? o.get(PDFName.of('BaseFont'))?.toString() : ''));
    expect(baseFonts.some((n) => /DancingScript/.test(n ?? ''))).toBe(true);

    const withImage = await fill(form(), { [sig.name]: drawn }, { flatten: true, seal });
    const images = (await PDFDocument.load(withImage)).context
      .enumerateIndirectObjects()
      .filter(
        ([, o]) =>
          o instanceof PDFRawStream && o.dict.get(PDFName.of('Subtype')) === PDFName.of('Image'),
      )
      .map(([, o]) => o as PDFRawStream)
      .filter(
        (o) =>
          o.dict.get(PDFName.of('Width'))?.toString() === '120' &&
          o.dict.get(PDFName.of('Height'))?.toString() === '40',
      );
    expect(images).toHaveLength(1);
  });
});
