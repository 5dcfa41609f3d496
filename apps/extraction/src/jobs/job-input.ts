import { DATA_TYPES, type Engine, ENGINES, type JobFieldInput } from '@app/contracts';
import { rpcError } from '@app/messaging';

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_ .-]{0,99}$/;

export function checkName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || !name.trim() || name.length > 255)
    throw rpcError('validation_failed', 'name must be 1 to 255 characters', { field: 'name' });
}

/** An engine given by a caller: one of ENGINES, or null (the service default) where allowed. */
export function checkEngine(engine: unknown, nullable = false): Engine | null | undefined {
  if (engine === undefined || (nullable && engine === null)) return engine;
  if (!(ENGINES as readonly unknown[]).includes(engine))
    throw rpcError('validation_failed', `engine must be one of ${ENGINES.join(', ')}`, {
      field: 'engine',
    });
  return engine as Engine;
}

/** An ISO 4217 code ("EUR"), upper-cased; null clears. */
export function checkCurrency(code: unknown): string | null | undefined {
  if (code === undefined || code === null) return code;
  if (typeof code !== 'string' || !/^[A-Za-z]{3}$/.test(code))
    throw rpcError('validation_failed', 'defaultCurrency must be an ISO 4217 code such as EUR', {
      field: 'defaultCurrency',
    });
  return code.toUpperCase();
}

export function checkFields(
  fields: JobFieldInput[] | undefined,
): asserts fields is JobFieldInput[] {
  if (!Array.isArray(fields) || fields.length < 1 || fields.length > 100)
    throw rpcError('validation_failed', 'fields must list 1 to 100 fields', { field: 'fields' });
  const seen = new Set<string>();
  fields.forEach((f, i) => {
    if (typeof f?.name !== 'string' || !FIELD_NAME.test(f.name))
      throw rpcError(
        'validation_failed',
        `fields[${i}].name must start with a letter and be at most 100 characters`,
        { field: `fields[${i}].name` },
      );
    if (seen.has(f.name.toLowerCase()))
      throw rpcError('validation_failed', `field "${f.name}" is listed twice`, {
        field: `fields[${i}].name`,
      });
    seen.add(f.name.toLowerCase());
    if (!(DATA_TYPES as readonly string[]).includes(f.dataType))
      throw rpcError(
        'validation_failed',
        `fields[${i}].dataType must be one of ${DATA_TYPES.join(', ')}`,
        { field: `fields[${i}].dataType` },
      );
    if (
      f.description !== undefined &&
      (typeof f.description !== 'string' || f.description.length > 2000)
    )
      throw rpcError(
        'validation_failed',
        `fields[${i}].description must be text of at most 2000 characters`,
        { field: `fields[${i}].description` },
      );
  });
}
