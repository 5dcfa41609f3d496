import { availableParallelism } from 'node:os';
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
  /** Worker threads for PDF reading and filling, and how many tasks may wait for one. */
  PDF_WORKER_THREADS: env.int(Math.max(1, Math.min(4, availableParallelism() - 1)), 1),
  PDF_WORKER_QUEUE: env.int(64, 0),
  /** A PDF task (queue wait included) past this is stopped and answered 422. */
  PDF_TASK_TIMEOUT_MS: env.int(20_000, 100),
  PDF_WORKER_HEAP_MB: env.int(512, 32),
  /** Text a field may hold (its own /MaxLen still applies): one line, and a multiline box. */
  TEXT_FIELD_MAX_CHARS: env.int(1000, 1),
  MULTILINE_FIELD_MAX_CHARS: env.int(2000, 1),
  /** Wrong access codes a recipient may send before the step locks (until a code is resent). */
  ACCESS_CODE_MAX_ATTEMPTS: env.int(5, 1),
  /**
   * The platform's sealing identity: a PKCS#12 file (mounted from a Secret) and its
   * passphrase. Required in production; elsewhere a self-signed one is made at start.
   */
  SEAL_P12_FILE: z.string().optional(),
  /** The same file's bytes in base64, where a file cannot be mounted (docker compose). */
  SEAL_P12: z.string().optional(),
  SEAL_P12_PASSPHRASE: z.string().default(''),
  /** A document's fill, flatten and seal (after the step, in the background) past this is stopped and tried again later. */
  RENDER_TIMEOUT_MS: env.int(120_000, 100),
  /** How often a replica looks for documents to fill that no kick reached (a crash, a retry). */
  RENDER_TICK_SECONDS: env.int(5, 1),
  /** Longest wait between tries of a document that failed to fill. */
  RENDER_RETRY_MAX_SECONDS: env.int(3600, 1),
  JOBS_ENABLED: env.bool.default('true'),
  JOB_TICK_SECONDS: env.int(60, 1),
});
export type PdfWorkflowConfig = z.infer<typeof pdfWorkflowSchema>;
