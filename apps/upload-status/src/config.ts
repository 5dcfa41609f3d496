import { z } from 'zod';
import { env } from '@app/config';

export const uploadStatusSchema = z.object({
  LIGHTHOUSE_URL: z.string().url().default('http://127.0.0.1:3200/lighthouse'),
  LIGHTHOUSE_CLIENT_ID: z.string().default('dev-client'),
  /**
   * The client's RSA private key (PKCS#8 PEM; `\n` escapes allowed), a Secret in production.
   * Each token request carries an assertion signed with it; its public key is registered
   * with Lighthouse's Okta.
   */
  LIGHTHOUSE_PRIVATE_KEY: z.string().optional(),
  /** The assertion's audience: the Okta token URL (vets-api's sandbox value by default). */
  LIGHTHOUSE_TOKEN_AUDIENCE: z
    .string()
    .url()
    .default('https://deptva-eval.okta.com/oauth2/ausi3ui83fLa68IJv2p7/v1/token'),
  LIGHTHOUSE_SCOPE: z.string().default('documents.read documents.write'),
  /** Status calls per minute by all replicas together (Lighthouse documents 60). */
  LIGHTHOUSE_RATE_PER_MINUTE: env.int(60, 1),
  /** Calls that may go at once after a quiet spell. */
  LIGHTHOUSE_BURST: env.int(5, 1),
  LIGHTHOUSE_TIMEOUT_MS: env.int(30_000, 100),
  /** Attempts per batch call on timeouts, 5xx and 429 before the batch is left for the next cycle. */
  LIGHTHOUSE_MAX_ATTEMPTS: env.int(4, 1),
  LIGHTHOUSE_BACKOFF_MS: env.int(1000, 1),
  POLLER_ENABLED: env.bool.default('true'),
  /** How often the scheduler looks for uploads due for a poll. */
  POLL_TICK_SECONDS: env.int(60, 1),
  /** An upload is polled again when its last poll is older than this. */
  POLL_INTERVAL_SECONDS: env.int(3600, 0),
  POLL_BATCH_SIZE: env.int(100, 1),
  POLL_MAX_BATCHES_PER_TICK: env.int(1000, 1),
  /** A batch claim older than this is taken as abandoned. */
  POLL_CLAIM_SECONDS: env.int(600, 1),
  /** A request id Lighthouse keeps not knowing is failed as unknown after this. */
  UNKNOWN_MAX_AGE_SECONDS: env.int(24 * 3600, 0),
  /** An upload still pending (no downstream step started) after this is failed as stuck. */
  STUCK_MAX_AGE_SECONDS: env.int(7 * 24 * 3600, 0),
  /**
   * An upload in progress at Lighthouse longer than this (from Lighthouse's start time) is
   * counted as stuck (`platform_upload_status_stuck_in_progress`, alerted); it keeps being polled.
   */
  IN_PROGRESS_MAX_AGE_SECONDS: env.int(3 * 24 * 3600, 0),
});
export type UploadStatusConfig = z.infer<typeof uploadStatusSchema>;
