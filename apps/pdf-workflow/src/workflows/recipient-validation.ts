import { RECIPIENT_TYPES, type RecipientInput } from '@app/contracts';
import { rpcError } from '@app/messaging';
import type { FormField } from '../pdf/pdf-forms';

/**
 * A new workflow's recipients, checked before anything is stored: each has a known type, a
 * name, a way to be reached (both ways for an access code), and fields the PDF has, each
 * field assigned to one recipient at most.
 */
export function validateRecipients(recipients: RecipientInput[], fields: FormField[]): void {
  const known = new Set(fields.map((f) => f.name));
  const assigned = new Set<string>();
  recipients.forEach((p, i) => {
    if (!RECIPIENT_TYPES.includes(p?.type))
      throw rpcError(
        'validation_failed',
        `recipients[${i}].type must be one of ${RECIPIENT_TYPES.join(', ')}`,
      );
    if (typeof p.name !== 'string' || !p.name.trim())
      throw rpcError('validation_failed', `recipients[${i}].name is required`);
    if (!p.email && !p.phone)
      throw rpcError('validation_failed', `recipients[${i}] needs an email or a phone`);
    if (p.accessCode && !(p.email && p.phone))
      throw rpcError(
        'validation_failed',
        `recipients[${i}] needs both email and phone for an access code`,
      );
    for (const f of p.fields ?? []) {
      if (!known.has(f))
        throw rpcError(
          'validation_failed',
          `recipients[${i}] is assigned field "${f}", which the PDF does not have`,
          { field: f },
        );
      if (assigned.has(f))
        throw rpcError('validation_failed', `field "${f}" is assigned to more than one recipient`, {
          field: f,
        });
      assigned.add(f);
    }
  });
}
