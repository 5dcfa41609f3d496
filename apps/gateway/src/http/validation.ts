import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';

/** Field errors as `{ field: "a.b", messages: [...] }`, nested properties flattened. */
export function flattenValidationErrors(
  errors: ValidationError[],
  parent = '',
): Array<{ field: string; messages: string[] }> {
  return errors.flatMap((e) => {
    const field = parent ? `${parent}.${e.property}` : e.property;
    const own = e.constraints ? [{ field, messages: Object.values(e.constraints) }] : [];
    return [...own, ...flattenValidationErrors(e.children ?? [], field)];
  });
}

export class RequestValidationError extends BadRequestException {
  constructor(readonly fields: Array<{ field: string; messages: string[] }>) {
    super(`request validation failed: ${fields.map((f) => f.field).join(', ')}`);
  }
}

/** Rejects unknown fields instead of silently dropping them; converts types for DTOs. */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    exceptionFactory: (errors) => new RequestValidationError(flattenValidationErrors(errors)),
  });
}
