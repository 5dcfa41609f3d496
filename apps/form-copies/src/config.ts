import { z } from 'zod';
import { encryptionSchema } from '@app/crypto';

/** Sensitive answers are sealed with ENCRYPTION_KEYS; without them they are refused. */
export const formCopiesSchema = encryptionSchema.extend({
  /** Question ids whose answers are sensitive (stored encrypted). */
  SENSITIVE_QUESTION_IDS: z
    .string()
    .default('mqs_fein,mqs_ssn,mqs_bank_account')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  /** The longest lease a caller may take, in seconds. */
  LEASE_MAX_SECONDS: z.coerce.number().int().min(1).max(300).default(300),
});
export type FormCopiesConfig = z.infer<typeof formCopiesSchema>;
