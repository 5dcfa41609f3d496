import { PDFCheckBox, PDFDocument, PDFDropdown, PDFRadioGroup, PDFTextField } from 'pdf-lib';

export type FieldType = 'text' | 'checkbox' | 'radio' | 'dropdown';
export interface FormField {
  name: string;
  type: FieldType;
  options?: string[];
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
      if (f instanceof PDFTextField) return [{ name, type: 'text' }];
      if (f instanceof PDFCheckBox) return [{ name, type: 'checkbox' }];
      if (f instanceof PDFRadioGroup) return [{ name, type: 'radio', options: f.getOptions() }];
      if (f instanceof PDFDropdown) return [{ name, type: 'dropdown', options: f.getOptions() }];
      return [];
    });
}

export class FieldValueError extends Error {}

/** Checks a value against its field before it is stored. */
export function checkValue(field: FormField, value: unknown): void {
  const bad = (why: string) => {
    throw new FieldValueError(`${field.name}: ${why}`);
  };
  switch (field.type) {
    case 'text':
      if (typeof value !== 'string' || value.length > 10_000)
        bad('must be text of at most 10,000 characters');
      return;
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
