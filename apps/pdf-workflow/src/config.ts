import { z } from 'zod';
import { env } from '@app/config';
import { storageSchema } from '@app/storage';

export const pdfWorkflowSchema = storageSchema.extend({
  /** Secret the recipient links are derived from (a Secret in production; 32+ characters). */
  LINK_SECRET: z.string().min(32, 'must be at least 32 characters'),
  /** Where recipients open their links (the gateway's public address). */
  PUBLIC_BASE_URL: z.string().url().default('http://127.0.0.1:3000'),
  /** The notification adapter's endpoint (email and SMS). */
  NOTIFY_URL: z.string().url().default('http://127.0.0.1:3200/notify'),
  DEFAULT_EXPIRY_HOURS: env.int(48, 1),
  REMINDER_INTERVAL_HOURS: env.int(24, 1),
  REMINDER_MAX: env.int(3, 0),
  RETENTION_DAYS: env.int(30, 0),
  ATTACHMENT_MAX_BYTES: env.int(10 * 1024 * 1024, 1),
  ATTACHMENT_TYPES: z
    .string()
    .default('application/pdf,image/png,image/jpeg')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  SCANNER: z.enum(['sim', 'clamav']).default('sim'),
  CLAMAV_HOST: z.string().default('127.0.0.1'),
  CLAMAV_PORT: env.int(3310, 1),
  JOBS_ENABLED: env.bool.default('true'),
  JOB_TICK_SECONDS: env.int(60, 1),
});
export type PdfWorkflowConfig = z.infer<typeof pdfWorkflowSchema>;
