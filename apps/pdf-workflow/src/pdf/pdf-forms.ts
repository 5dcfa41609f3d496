import {
  EncryptedPDFError,
  PDFCheckBox,
  PDFDict,
  PDFDocument,
  PDFDropdown,
  type PDFField,
  PDFName,
  PDFOptionList,
  PDFRadioGroup,
  PDFSignature,
  PDFTextField,
} from 'pdf-lib';
import { adoptOrphanWidgets, stringOf, widgetGeometry } from './acroform';
import { decrypt, NeedsPasswordError } from './qpdf';
import { composed } from './text-layout';

export type FieldType = 'text' | 'checkbox' | 'radio' | 'dropdown' | 'listbox' | 'signature';
export interface FormField {
  name: string;
  type: FieldType;
  options?: string[];
  /** Text fields: the PDF's own limit (/MaxLen), one cell each when `comb`. */
  maxLength?: number;
  multiline?: boolean;
  comb?: boolean;
  /** List boxes that take several options (the value is then an array). */
  multiSelect?: boolean;
  /** The smallest of the field's widgets, for checking at save that an answer fits it. */
  box?: { width: number; height: number; fontSize: number };
}

/** How much text a field may hold beyond what the PDF itself says. */
export interface TextLimits {
  singleLine: number;
  multiline: number;
}

export class NotAPdfError extends Error {}

/** The PDF is well-formed but cannot be used as a form (it needs a password, ...): a 422. */
export class UnusablePdfError extends Error {}

/**
 * A form opened for reading or filling: an owner-password-only PDF is decrypted (the stored
 * original stays byte for byte as uploaded), widgets the field tree does not reach are adopted.
 */
export async function openForm(bytes: Buffer): Promise<PDFDocument> {
  if (bytes.subarray(0, 1024).toString('latin1').indexOf('%PDF-') < 0)
    throw new NotAPdfError('the file is not a PDF');
  let doc: PDFDocument;
  try {
    // An encrypted file goes to qpdf first: pdf-lib would parse (and log about) every
    // encrypted object before saying it is encrypted.
    if (/\/Encrypt\s+\d+\s+\d+\s+R/.test(bytes.toString('latin1'))) throw new EncryptedPDFError();
    doc = await PDFDocument.load(bytes, { updateMetadata: false });
  } catch (err) {
    // pdf-lib's errors lose their class when compiled to ES5: its message says which.
    if (!(err instanceof EncryptedPDFError || /is encrypted/.test((err as Error).message)))
      throw new NotAPdfError(`the PDF cannot be read: ${(err as Error).message.split('\n')[0]}`);
    let plain: Buffer;
    try {
      plain = await decrypt(bytes);
    } catch (e) {
      if (e instanceof NeedsPasswordError)
        throw new UnusablePdfError(
          'the PDF is protected by a password needed to open it; upload a copy that opens without one',
        );
      throw new NotAPdfError('the encrypted PDF cannot be read');
    }
    doc = await PDFDocument.load(plain, { updateMetadata: false });
  }
  // XFA (a second, XML form beside the AcroForm) would be shown instead of the filled fields
  // by viewers that read it; it goes, as pdf-lib would remove it (quietly here).
  doc.catalog.lookupMaybe(PDFName.of('AcroForm'), PDFDict)?.delete(PDFName.of('XFA'));
  adoptOrphanWidgets(doc);
  return doc;
}

/** The fillable fields of a PDF; anything that is not a parseable PDF is refused. */
export async function readFields(bytes: Buffer): Promise<FormField[]> {
  const doc = await openForm(bytes);
  const form = doc.getForm();
  const acroDA = stringOf(form.acroForm.dict.lookup(PDFName.of('DA')));
  const seen = new Set<string>();
  return form.getFields().flatMap((f): FormField[] => {
    const name = f.getName();
    if (seen.has(name)) return [];
    seen.add(name);
    const box = smallestBox(f, acroDA);
    if (f instanceof PDFTextField) {
      const maxLength = f.getMaxLength();
      return [
        {
          name,
          type: 'text',
          ...(maxLength !== undefined ? { maxLength } : {}),
          ...(f.isMultiline() ? { multiline: true } : {}),
          ...(f.isCombed() ? { comb: true } : {}),
          ...(box ? { box } : {}),
        },
      ];
    }
    if (f instanceof PDFCheckBox) return [{ name, type: 'checkbox' }];
    if (f instanceof PDFRadioGroup) return [{ name, type: 'radio', options: f.getOptions() }];
    if (f instanceof PDFDropdown)
      return [{ name, type: 'dropdown', options: f.getOptions(), ...(box ? { box } : {}) }];
    if (f instanceof PDFOptionList)
      return [
        {
          name,
          type: 'listbox',
          options: f.getOptions(),
          ...(f.isMultiselect() ? { multiSelect: true } : {}),
          ...(box ? { box } : {}),
        },
      ];
    if (f instanceof PDFSignature) return [{ name, type: 'signature', ...(box ? { box } : {}) }];
    return [];
  });
}

function smallestBox(f: PDFField, acroDA: string | undefined): FormField['box'] {
  let best: FormField['box'];
  for (const w of f.acroField.getWidgets()) {
    const g = widgetGeometry(w, f.acroField.dict, acroDA);
    if (!best || g.width * g.height < best.width * best.height)
      best = {
        width: round(g.width),
        height: round(g.height),
        fontSize: round(g.fontSize),
      };
  }
  return best;
}

const round = (n: number) => Math.round(n * 100) / 100;

/** `bound`: the value is of the right kind but more than the field holds (a 422). */
export class FieldValueError extends Error {
  constructor(
    message: string,
    readonly kind: 'type' | 'bound' = 'type',
  ) {
    super(message);
  }
}

/** A drawn signature: a PNG, as a data URL or bare base64. */
export const SIGNATURE_IMAGE_MAX_BYTES = 512 * 1024;
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function signatureImage(value: unknown): Buffer | null {
  if (typeof value !== 'object' || value === null || !('image' in value)) return null;
  const raw = String(value.image).replace(/^data:image\/png;base64,/, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) return null;
  return Buffer.from(raw, 'base64');
}

/**
 * Checks a value's kind and size against its field before it is stored: a text fits the
 * field's own /MaxLen (a comb field has exactly that many cells) and the platform's bound for
 * its kind. Cheap and pure; whether it can be drawn in the box is `checkRendering`'s (fonts).
 */
export function checkValue(field: FormField, value: unknown, limits: TextLimits): void {
  const bad = (why: string, kind: 'type' | 'bound' = 'type') => {
    throw new FieldValueError(`${field.name}: ${why}`, kind);
  };
  switch (field.type) {
    case 'text': {
      if (typeof value !== 'string') return bad('must be text');
      const max = Math.min(
        field.maxLength ?? Infinity,
        field.multiline ? limits.multiline : limits.singleLine,
      );
      // Characters as a person counts them (code points, composed), not UTF-16 units.
      const length = [...composed(value)].length;
      if (length > max)
        bad(
          `must be at most ${max} characters${field.comb ? ' (one per box)' : ''}; got ${length}`,
          'bound',
        );
      return;
    }
    case 'checkbox':
      if (typeof value !== 'boolean') bad('must be true or false');
      return;
    case 'radio':
    case 'dropdown':
      if (typeof value !== 'string' || !field.options?.includes(value))
        bad(`must be one of ${field.options?.join(', ')}`);
      return;
    case 'listbox': {
      const picked = Array.isArray(value) ? value : [value];
      if (!field.multiSelect && Array.isArray(value) && value.length !== 1) bad('takes one option');
      if (
        picked.length === 0 ||
        picked.some((v) => typeof v !== 'string' || !field.options?.includes(v))
      )
        bad(`must be ${field.multiSelect ? 'a list of' : 'one of'} ${field.options?.join(', ')}`);
      return;
    }
    case 'signature': {
      if (typeof value === 'string') {
        if (!value.trim()) bad('a typed signature must not be empty');
        if ([...value].length > 100) bad('a typed signature is at most 100 characters', 'bound');
        return;
      }
      const png = signatureImage(value);
      if (!png) return bad('must be a typed name or { "image": a base64 PNG }');
      if (png.length > SIGNATURE_IMAGE_MAX_BYTES)
        bad(`a drawn signature is at most ${SIGNATURE_IMAGE_MAX_BYTES} bytes`, 'bound');
      if (!png.subarray(0, 8).equals(PNG)) bad('a drawn signature must be a PNG image');
      return;
    }
  }
}
