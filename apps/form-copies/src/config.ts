import { z } from 'zod';

export const formCopiesSchema = z.object({
  /** Keys for sensitive answers, `id:base64key,...`; without them sensitive answers are refused. */
  ENCRYPTION_KEYS: z.string().optional(),
  ENCRYPTION_ACTIVE_KEY: z.string().optional(),
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
