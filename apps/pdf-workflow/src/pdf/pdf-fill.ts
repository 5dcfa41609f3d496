import {
  PDFCheckBox,
  PDFDict,
  PDFDocument,
  PDFDropdown,
  type PDFField,
  PDFHexString,
  PDFName,
  PDFOptionList,
  PDFRadioGroup,
  PDFSignature,
  PDFTextField,
} from 'pdf-lib';
import { stringOf, widgetGeometry } from './acroform';
import {
  drawImageAppearance,
  drawTextAppearance,
  EmbeddedFonts,
  hasStateAppearance,
} from './appearances';
import { describeChar, fontChain, unrenderable } from './fonts';
import { type FormField, openForm, signatureImage } from './pdf-forms';
import { flattenAnnotations } from './qpdf';
import { type SealKey, seal } from './seal';
import { composed, DoesNotFit, layoutText, type TextSpec } from './text-layout';

/**
 * Whether an accepted value can be drawn in its field: every character has a glyph in the
 * font chain and the text fits the box at a legible size. Run at save, so the completion
 * never meets a value it cannot draw. Null when it can; otherwise what is wrong.
 */
export function checkRendering(field: FormField, value: unknown): string | null {
  const texts =
    field.type === 'text' || (field.type === 'signature' && typeof value === 'string')
      ? [String(value)]
      : field.type === 'dropdown' || field.type === 'listbox'
        ? (Array.isArray(value) ? value : [value]).map(String)
        : [];
  const chain = fontChain(field.type === 'signature');
  for (const t of texts) {
    const missing = unrenderable(t, chain);
    if (missing.length)
      return `${field.name}: cannot be drawn with the platform's fonts: ${missing.slice(0, 10).map(describeChar).join(', ')}`;
  }
  if (!field.box || texts.length === 0) return null;
  try {
    if (field.type === 'listbox')
      layoutText(
        texts.join('\n'),
        field.box,
        { multiline: true, fontSize: field.box.fontSize },
        chain,
      );
    else layoutText(texts[0], field.box, specOf(field, field.box.fontSize), chain);
  } catch (err) {
    if (err instanceof DoesNotFit)
      return `${field.name}: ${err.message} (${Math.round(field.box.width)}×${Math.round(field.box.height)} pt) at a legible size; shorten it`;
    throw err;
  }
  return null;
}

function specOf(field: FormField, fontSize: number, quadding?: number): TextSpec {
  return {
    fontSize,
    multiline: !!field.multiline,
    comb: !!field.comb,
    ...(field.maxLength !== undefined ? { maxLength: field.maxLength } : {}),
    ...(quadding !== undefined ? { quadding } : {}),
  };
}

export interface FillOptions {
  /** The final document: every field drawn into its page and removed. */
  flatten: boolean;
  /** Seal the flattened document with this key (a PKCS#7 signature). */
  seal?: SealKey;
}

/** Fills the answers in; for the final document, flattens and seals. */
export async function fill(
  bytes: Buffer,
  values: Record<string, unknown>,
  opts: FillOptions,
): Promise<Buffer> {
  const doc = await openForm(bytes);
  const form = doc.getForm();
  const fonts = new EmbeddedFonts(doc);
  const acroDA = stringOf(form.acroForm.dict.lookup(PDFName.of('DA')));
  for (const f of form.getFields()) {
    const name = f.getName();
    if (!(name in values)) continue;
    await fillField(doc, f, values[name], fonts, acroDA);
  }
  // The appearances are drawn: a viewer must not redraw them with fonts it may lack.
  form.acroForm.dict.delete(PDFName.of('NeedAppearances'));
  const filled = Buffer.from(await doc.save({ updateFieldAppearances: false }));
  if (!opts.flatten) return filled;
  return finish(await flattenAnnotations(filled), opts.seal);
}

async function fillField(
  doc: PDFDocument,
  f: PDFField,
  value: unknown,
  fonts: EmbeddedFonts,
  acroDA: string | undefined,
): Promise<void> {
  const drawText = async (text: string, field: FormField, signature = false) => {
    const chain = fontChain(signature);
    for (const w of f.acroField.getWidgets()) {
      const g = widgetGeometry(w, f.acroField.dict, acroDA);
      const layout = layoutText(
        text,
        g,
        specOf(field, signature ? 0 : g.fontSize, g.quadding),
        chain,
      );
      await drawTextAppearance(doc, w, g, layout, chain, fonts);
    }
  };
  if (f instanceof PDFTextField) {
    const text = composed(String(value));
    f.acroField.setValue(PDFHexString.fromText(text));
    await drawText(text, {
      name: f.getName(),
      type: 'text',
      multiline: f.isMultiline(),
      comb: f.isCombed(),
      ...(f.getMaxLength() !== undefined ? { maxLength: f.getMaxLength() } : {}),
    });
  } else if (f instanceof PDFCheckBox) {
    if (value === true) f.check();
    else f.uncheck();
    if (f.acroField.getWidgets().some((w) => !hasStateAppearance(w))) f.defaultUpdateAppearances();
  } else if (f instanceof PDFRadioGroup) {
    f.select(String(value));
    if (f.acroField.getWidgets().some((w) => !hasStateAppearance(w))) f.defaultUpdateAppearances();
  } else if (f instanceof PDFDropdown) {
    f.select(String(value));
    await drawText(String(value), { name: f.getName(), type: 'dropdown' });
  } else if (f instanceof PDFOptionList) {
    const picked = (Array.isArray(value) ? value : [value]).map(String);
    f.select(picked);
    await drawText(picked.join('\n'), { name: f.getName(), type: 'listbox', multiline: true });
  } else if (f instanceof PDFSignature) {
    const png = signatureImage(value);
    if (png) {
      const image = await doc.embedPng(png);
      for (const w of f.acroField.getWidgets())
        drawImageAppearance(doc, w, widgetGeometry(w, f.acroField.dict, acroDA), image);
    } else await drawText(String(value), { name: f.getName(), type: 'signature' }, true);
  }
}

/**
 * After qpdf has drawn every annotation into its page: no form is left (nothing fillable,
 * no widget without an appearance), then the seal.
 */
async function finish(flat: Buffer, key: SealKey | undefined): Promise<Buffer> {
  const doc = await PDFDocument.load(flat, { updateMetadata: false });
  doc.catalog.delete(PDFName.of('AcroForm'));
  for (const page of doc.getPages()) {
    const annots = page.node.Annots();
    if (!annots) continue;
    const keep = annots.asArray().filter((ref) => {
      const a = doc.context.lookup(ref);
      return !(a instanceof PDFDict && a.get(PDFName.of('Subtype')) === PDFName.of('Widget'));
    });
    if (keep.length === annots.size()) continue;
    if (keep.length) page.node.set(PDFName.of('Annots'), doc.context.obj(keep));
    else page.node.delete(PDFName.of('Annots'));
  }
  if (key) return seal(doc, key);
  return Buffer.from(await doc.save());
}
