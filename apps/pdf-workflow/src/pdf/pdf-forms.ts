import { PDFCheckBox, PDFDocument, PDFDropdown, PDFRadioGroup, PDFTextField } from 'pdf-lib';

export type FieldType = 'text' | 'checkbox' | 'radio' | 'dropdown';
export interface FormField {
  name: string;
  type: FieldType;
  options?: string[];
  /** Text fields: the PDF's own limit (/MaxLen), one cell each when `comb`. */
  maxLength?: number;
  multiline?: boolean;
  comb?: boolean;
}

/** How much text a field may hold beyond what the PDF itself says. */
export interface TextLimits {
  singleLine: number;
  multiline: number;
}

export class NotAPdfError extends Error {}

/** The fillable fields of a PDF; anything that is not a parseable PDF is refused. */
export async function readFields(bytes: Buffer): Promise<FormField[]> {
  if (bytes.subarray(0, 5).toString('latin1') !== '%PDF-')
    throw new NotAPdfError('the file is not a PDF');
  let doc: PDFDocument;
  try {
    doc = await PDFDocument.load(bytes, { updateMetadata: false });
  } catch (err) {
    throw new NotAPdfError(`the PDF cannot be read: ${(err as Error).message}`);
  }
  return doc
    .getForm()
    .getFields()
    .flatMap((f): FormField[] => {
      const name = f.getName();
      if (f instanceof PDFTextField) {
        const maxLength = f.getMaxLength();
        return [
          {
            name,
            type: 'text',
            ...(maxLength !== undefined ? { maxLength } : {}),
            ...(f.isMultiline() ? { multiline: true } : {}),
            ...(f.isCombed() ? { comb: true } : {}),
          },
        ];
      }
      if (f instanceof PDFCheckBox) return [{ name, type: 'checkbox' }];
      if (f instanceof PDFRadioGroup) return [{ name, type: 'radio', options: f.getOptions() }];
      if (f instanceof PDFDropdown) return [{ name, type: 'dropdown', options: f.getOptions() }];
      return [];
    });
}

/** `bound`: the value is of the right kind but more than the field holds (a 422). */
export class FieldValueError extends Error {
  constructor(
    message: string,
    readonly kind: 'type' | 'bound' = 'type',
  ) {
    super(message);
  }
}

/**
 * Checks a value against its field before it is stored: a text fits the field's own
 * /MaxLen (a comb field has exactly that many cells) and the platform's bound for its kind,
 * so filling never meets a value the document cannot hold (multiline layout is costly).
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
      // Characters as a person counts them (code points), not UTF-16 units.
      const length = [...value].length;
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
  }
}

/**
 * Fills the fields and, for the final document, flattens them. Appearances are regenerated
 * first: without it a flattened checkbox loses its check mark (a known pdf-lib pitfall).
 */
export async function fill(
  bytes: Buffer,
  values: Record<string, unknown>,
  flatten: boolean,
): Promise<Buffer> {
  const doc = await PDFDocument.load(bytes, { updateMetadata: false });
  const form = doc.getForm();
  for (const [name, value] of Object.entries(values)) {
    const f = form.getFieldMaybe(name);
    if (f instanceof PDFTextField) f.setText(String(value));
    else if (f instanceof PDFCheckBox) {
      if (value === true) f.check();
      else f.uncheck();
    } else if (f instanceof PDFRadioGroup) f.select(String(value));
    else if (f instanceof PDFDropdown) f.select(String(value));
  }
  form.updateFieldAppearances();
  if (flatten) form.flatten();
  return Buffer.from(await doc.save());
}
