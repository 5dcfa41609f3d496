import type { Actor } from './tenancy';
/** extraction: jobs over uploaded, Drive and Gmail files, run many times, exported, automated. */

export const DATA_TYPES = [
  'text',
  'identifier',
  'email',
  'phone',
  'address',
  'name',
  'url',
  'number',
  'integer',
  'currency',
  'percentage',
  'date',
  'time',
  'boolean',
] as const;
export type DataTypeId = (typeof DATA_TYPES)[number];

export const SOURCE_TYPES = ['upload', 'gdrive', 'gmail'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];
export const EXPORT_DESTS = ['download', 'gdrive', 'gmail'] as const;
export type ExportDest = (typeof EXPORT_DESTS)[number];
export const EXPORT_FILE_TYPES = ['csv', 'xlsx'] as const;
export type ExportFileType = (typeof EXPORT_FILE_TYPES)[number];
export const PROVIDERS = ['google', 'microsoft'] as const;
export type Provider = (typeof PROVIDERS)[number];

/**
 * How a job's values are found: `rules` reads labels and layout offline; `model` asks a
 * language model (an OpenAI-compatible API) and checks each answer against the document.
 * Either way an e-invoice's own XML is read first.
 */
export const ENGINES = ['rules', 'model'] as const;
export type Engine = (typeof ENGINES)[number];

export type RunStatus = 'pending' | 'in_progress' | 'completed' | 'partially_completed' | 'failed';
export type TaskStatus = 'pending' | 'processing' | 'completed' | 'failed';
export type ExportStatus = 'pending' | 'in_progress' | 'completed' | 'failed';

export interface JobFieldInput {
  name: string;
  dataType: DataTypeId;
  /** What to look for; `hints: a, b` lists labels the value may sit behind. */
  description?: string;
}
export interface JobFieldView extends JobFieldInput {
  displayOrder: number;
}

export interface JobView {
  id: string;
  name: string;
  templateId: string | null;
  /** The job's engine; null: the service's default (EXTRACTION_ENGINE) when a run starts. */
  engine: Engine | null;
  /** ISO 4217 code for amounts printed without a currency the document does not name. */
  defaultCurrency: string | null;
  fields: JobFieldView[];
  fileCount: number;
  lastRun: RunView | null;
  createdAt: string;
  updatedAt: string;
}

export interface TemplateView {
  id: string;
  name: string;
  fields: JobFieldInput[];
  createdAt: string;
  updatedAt: string;
}

export interface SourceFileView {
  id: string;
  jobId: string;
  fileName: string;
  fileType: string;
  fileSize: number;
  contentHash: string;
  sourceType: SourceType;
  externalId: string | null;
  uploadedAt: string;
}

export interface RunView {
  id: string;
  jobId: string;
  runNumber: number;
  status: RunStatus;
  /** The engine this run used (the job's, or the service default, when it started). */
  engine: Engine;
  tasksTotal: number;
  tasksCompleted: number;
  tasksFailed: number;
  fields: JobFieldView[];
  automationId: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
}

export interface ExtractedValue {
  value: unknown;
  /** 0..1: how sure the extractor is; 0 when nothing was found. */
  confidence: number;
  /** The text the value was read from. */
  raw: string | null;
  /**
   * Where it came from: `einvoice` is the invoice's own XML (Factur-X/ZUGFeRD, XRechnung,
   * UBL); `model` a language model's answer; `ocr` text recognised on a scanned page.
   */
  source?: 'einvoice' | 'model' | 'ocr';
  /** A model's answer whose quoted text the document does not contain: kept, not believed. */
  unsupported?: true;
}

/** What a model engine spent on one file. */
export interface ModelUsage {
  model: string;
  promptTokens: number;
  completionTokens: number;
  /** At the configured prices per million tokens (0 when none are set). */
  costUsd: number;
  /** Requests made, retries included. */
  requests: number;
}

export interface ResultView {
  taskId: string;
  sourceFileId: string;
  fileName: string;
  sourceType: SourceType;
  status: TaskStatus;
  attempts: number;
  error: string | null;
  data: Record<string, ExtractedValue> | null;
  /** What the task could not do fully (pages past the cap, text cut for the model's budget). */
  warnings: string[];
  /** The model engine's tokens and cost for this file; null for the rules engine. */
  usage: ModelUsage | null;
  processedAt: string | null;
}

export interface ExportView {
  id: string;
  runId: string;
  destType: ExportDest;
  fileType: ExportFileType;
  status: ExportStatus;
  externalId: string | null;
  errorMessage: string | null;
  fileName: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface IntegrationAccountView {
  id: string;
  provider: Provider;
  email: string | null;
  scopes: string[];
  expiresAt: string | null;
  connected: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface GmailTriggerConfig {
  query: string;
  mimeTypes: string[];
}
export interface ExportConfig {
  dest: ExportDest;
  fileType: ExportFileType;
  folderId?: string;
  to?: string;
}

export interface AutomationView {
  id: string;
  name: string;
  isEnabled: boolean;
  triggerType: 'gmail_attachment';
  triggerConfig: GmailTriggerConfig;
  jobId: string;
  integrationAccountId: string;
  exportConfig: ExportConfig;
  lastFiredAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface AutomationRunView {
  id: string;
  automationId: string;
  runId: string | null;
  exportId: string | null;
  messageId: string;
  attachmentId: string;
  status: 'pending' | 'completed' | 'failed';
  errorMessage: string | null;
  triggeredAt: string;
  completedAt: string | null;
}

export type FileInput =
  | { source: 'upload'; fileName: string; contentType: string; storageKey: string }
  | { source: 'gdrive'; accountId: string; fileId: string }
  | { source: 'gmail'; accountId: string; messageId: string; attachmentId: string };

/** Requests of a tenant's caller: what they reach is the actor's tenant's. */
type Owned<T> = T & { actor: Actor };

export interface ExtractionRpc {
  'extraction.data-type.list.v1': {
    request: Record<string, never>;
    response: Array<{ id: DataTypeId; displayName: string; description: string }>;
  };
  'extraction.job.create.v1': {
    /** With a template and no fields, the job starts with the template's fields. */
    request: Owned<{
      name: string;
      fields?: JobFieldInput[];
      templateId?: string;
      engine?: Engine;
      defaultCurrency?: string;
    }>;
    response: JobView;
  };
  'extraction.template.create.v1': {
    request: Owned<{ name: string; fields: JobFieldInput[] }>;
    response: TemplateView;
  };
  'extraction.template.list.v1': { request: { actor: Actor }; response: TemplateView[] };
  'extraction.job.get.v1': { request: Owned<{ id: string }>; response: JobView };
  'extraction.job.list.v1': {
    request: Owned<{ limit?: number; cursor?: string }>;
    /** `data` is the platform's list envelope; `items` (the same list) is kept for existing callers. */
    response: { data: JobView[]; items: JobView[]; nextCursor: string | null };
  };
  'extraction.job.fields.replace.v1': {
    request: Owned<{ id: string; fields: JobFieldInput[] }>;
    response: JobView;
  };
  'extraction.file.add.v1': {
    request: Owned<{ jobId: string; file: FileInput }>;
    response: { file: SourceFileView; created: boolean };
  };
  'extraction.file.list.v1': { request: Owned<{ jobId: string }>; response: SourceFileView[] };
  'extraction.file.remove.v1': {
    request: Owned<{ jobId: string; fileId: string }>;
    response: { removed: true };
  };
  'extraction.job.update.v1': {
    /** `null` clears: the service default engine, no default currency. */
    request: Owned<{ id: string; engine?: Engine | null; defaultCurrency?: string | null }>;
    response: JobView;
  };
  /** `engine` runs this once with another engine (the job keeps its own). */
  'extraction.run.start.v1': {
    request: Owned<{ jobId: string; engine?: Engine }>;
    response: RunView;
  };
  'extraction.run.list.v1': { request: Owned<{ jobId: string }>; response: RunView[] };
  'extraction.run.get.v1': { request: Owned<{ id: string }>; response: RunView };
  'extraction.run.results.v1': {
    request: Owned<{ id: string }>;
    response: { run: RunView; results: ResultView[] };
  };
  'extraction.export.create.v1': {
    request: Owned<{
      runId: string;
      destType: ExportDest;
      fileType: ExportFileType;
      accountId?: string;
      folderId?: string;
      to?: string;
    }>;
    response: ExportView;
  };
  'extraction.export.get.v1': {
    request: Owned<{ id: string }>;
    response: ExportView & { storageKey: string | null; contentType: string };
  };
  'extraction.oauth.authorize.v1': {
    request: Owned<{ provider: Provider; redirectUri: string }>;
    response: { url: string; state: string };
  };
  'extraction.oauth.callback.v1': {
    request: Owned<{ provider: Provider; code: string; state: string }>;
    response: IntegrationAccountView;
  };
  'extraction.account.list.v1': {
    request: { actor: Actor };
    response: IntegrationAccountView[];
  };
  'extraction.account.disconnect.v1': {
    request: Owned<{ id: string }>;
    response: IntegrationAccountView;
  };
  'extraction.automation.create.v1': {
    request: Owned<{
      name: string;
      triggerType: 'gmail_attachment';
      triggerConfig: GmailTriggerConfig;
      jobId: string;
      integrationAccountId: string;
      exportConfig: ExportConfig;
    }>;
    response: AutomationView;
  };
  'extraction.automation.get.v1': { request: Owned<{ id: string }>; response: AutomationView };
  'extraction.automation.list.v1': {
    request: { actor: Actor };
    response: AutomationView[];
  };
  'extraction.automation.update.v1': {
    request: Owned<{ id: string; isEnabled?: boolean; name?: string }>;
    response: AutomationView;
  };
  'extraction.automation.runs.v1': {
    request: Owned<{ id: string }>;
    response: AutomationRunView[];
  };
  'extraction.gmail.push.v1': {
    request: { emailAddress: string; historyId: string };
    response: { accepted: number };
  };
}

export interface ExtractionEvents {
  /** Work queue: one message per task of a run. */
  'extraction.task.requested.v1': { taskId: string; runId: string };
  'extraction.export.requested.v1': { exportId: string };
  /** Work queue: sync one automation's mailbox from its history cursor. */
  'extraction.automation.sync.requested.v1': { automationId: string; historyId?: string };
  /** Work queue: renew a mailbox's Gmail watch before it lapses. */
  'extraction.watch.renewal.requested.v1': { accountId: string };
  'extraction.run.completed.v1': {
    runId: string;
    jobId: string;
    runNumber: number;
    status: RunStatus;
    tasksTotal: number;
    tasksCompleted: number;
    tasksFailed: number;
  };
  'extraction.export.completed.v1': {
    exportId: string;
    runId: string;
    destType: ExportDest;
    fileType: ExportFileType;
    externalId: string | null;
  };
  'extraction.export.failed.v1': { exportId: string; runId: string; error: string };
  'extraction.automation.fired.v1': {
    automationId: string;
    automationRunId: string;
    runId: string;
    messageId: string;
    attachmentId: string;
  };
}
