import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { env, type ServiceConfig } from '@app/config';
import { encryptionSchema } from '@app/crypto';
import { storageSchema } from '@app/storage';

/** OAuth tokens are sealed with ENCRYPTION_KEYS; without them no token is stored or read. */
export const extractionSchema = storageSchema.merge(encryptionSchema).extend({
  /** Signs the OAuth `state` parameter (a Secret in production; 32+ characters). */
  OAUTH_STATE_SECRET: z.string().min(32, 'must be at least 32 characters'),
  GOOGLE_CLIENT_ID: z.string().default('dev-client.apps.googleusercontent.com'),
  GOOGLE_CLIENT_SECRET: z.string().default('dev-secret'),
  /** Google's endpoints; the simulator's locally. */
  GOOGLE_AUTH_URL: z.string().url().default('http://127.0.0.1:3200/google/o/oauth2/v2/auth'),
  GOOGLE_OAUTH_URL: z.string().url().default('http://127.0.0.1:3200/google/oauth2'),
  GOOGLE_API_URL: z.string().url().default('http://127.0.0.1:3200/google'),
  GOOGLE_TIMEOUT_MS: env.int(20_000, 100),
  GOOGLE_MAX_ATTEMPTS: env.int(4, 1),
  GOOGLE_BACKOFF_MS: env.int(500, 1),
  /** The Pub/Sub topic Gmail pushes mailbox changes to. */
  GMAIL_PUSH_TOPIC: z.string().default('projects/document-platform/topics/gmail-push'),
  /** A watch is renewed when it lapses within this (Gmail's last 7 days). */
  GMAIL_WATCH_RENEW_BEFORE_HOURS: env.int(24, 1),
  /** A full re-sync (cursor too old) looks at most this far back and this many messages. */
  GMAIL_RESYNC_DAYS: env.int(7, 1),
  GMAIL_RESYNC_MAX_MESSAGES: env.int(500, 1),
  /** Enabled automations are also synced this often, in case a push was lost. */
  AUTOMATION_SYNC_SECONDS: env.int(600, 1),
  /** Largest file taken from any source. */
  MAX_FILE_BYTES: env.int(25 * 1024 * 1024, 1),
  /** A file with more pages, or whose streams inflate to more, is refused (a failed task). */
  MAX_PDF_PAGES: env.int(200, 1),
  MAX_DECOMPRESSED_BYTES: env.int(256 * 1024 * 1024, 1024),
  /** Worker threads that extract text, and how many files may wait for one. */
  EXTRACT_WORKER_THREADS: env.int(Math.max(1, Math.min(4, availableParallelism() - 1)), 1),
  EXTRACT_WORKER_QUEUE: env.int(64, 0),
  /** One file's extraction (queue wait included) past this is stopped: a failed task. */
  EXTRACT_TASK_TIMEOUT_MS: env.int(60_000, 100),
  EXTRACT_WORKER_HEAP_MB: env.int(512, 32),
  /** A task still open this long after its last change is queued again (its worker died). */
  TASK_STALE_SECONDS: env.int(300, 1),
  /**
   * Messages a replica holds at once (the shared default is 16). Extraction is CPU-bound: a
   * few at a time per replica keep the queue's work spread over all replicas to the end of a
   * run, and fewer PDFs in memory at once.
   */
  EVENT_PREFETCH: env.int(4, 1),
  /** The engine of jobs that name none (`rules`: offline; `model`: the API below). */
  EXTRACTION_ENGINE: z.enum(['rules', 'model']).default('rules'),
  /**
   * The model engine: any OpenAI-compatible chat-completions API with JSON-schema output
   * (OpenAI, Azure OpenAI's v1 API, Gemini's OpenAI endpoint, Ollama, vLLM, llama.cpp's
   * server). The key is a Secret; Azure takes it in `api-key` (MODEL_API_KEY_HEADER).
   */
  MODEL_BASE_URL: z.string().url().default('http://127.0.0.1:3200/openai/v1'),
  MODEL_NAME: z.string().min(1).default('gpt-4o-mini'),
  MODEL_API_KEY: z.string().min(1).optional(),
  MODEL_API_KEY_HEADER: z.enum(['authorization', 'api-key']).default('authorization'),
  /** One request's deadline, and how often a 429, 5xx or timeout is tried again (back-off, jitter). */
  MODEL_TIMEOUT_MS: env.int(60_000, 100),
  MODEL_MAX_RETRIES: env.int(3, 0),
  /** Per file: the document's text is cut to this many tokens (a warning on the task). */
  MODEL_MAX_INPUT_TOKENS: env.int(30_000, 100),
  MODEL_MAX_OUTPUT_TOKENS: env.int(2_000, 50),
  /** The first pages sent as images too, for a model that reads them (0: text only). */
  MODEL_PAGE_IMAGES: env.int(0, 0),
  /** Prices per million tokens, for the cost recorded on each task. */
  MODEL_INPUT_USD_PER_MTOK: z.coerce.number().min(0).default(0),
  MODEL_OUTPUT_USD_PER_MTOK: z.coerce.number().min(0).default(0),
  /** Pages with no text layer are recognised (tesseract) in these languages ('' turns OCR off). */
  OCR_LANGUAGES: z
    .string()
    .default('eng+deu+fra+nld')
    .refine((v) => v === '' || /^(eng|deu|fra|nld)(\+(eng|deu|fra|nld))*$/.test(v), {
      message: 'must be languages among eng, deu, fra, nld joined by +, or empty',
    }),
  /** Pages OCR'd per file at most (each takes about a second of CPU). */
  OCR_MAX_PAGES: env.int(20, 0),
  JOBS_ENABLED: env.bool.default('true'),
  JOB_TICK_SECONDS: env.int(60, 1),
});
/** Its own settings and the shared ones (the bus's attempts and delays among them). */
export type ExtractionConfig = z.infer<typeof extractionSchema> & ServiceConfig;
