import type { Actor } from './tenancy';
import { isUuid } from './ids';
/** pdf-workflow: a PDF passes through recipients in order, each through a secret link. */

export const RECIPIENT_TYPES = [
  'PRESCRIBER',
  'PATIENT',
  'PHARMACY',
  'INSURANCE',
  'CUSTOM',
] as const;
export type RecipientType = (typeof RECIPIENT_TYPES)[number];
/** FINALIZING: every recipient is done; the sealed document is being made (moments). */
export type WorkflowStatus = 'ACTIVE' | 'FINALIZING' | 'COMPLETED' | 'CANCELLED' | 'EXPIRED';
export type RecipientStatus =
  'PENDING' | 'ACCESSED' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'EXPIRED';

/** Where a request came from, for the audit log. */
export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export interface RecipientInput {
  type: RecipientType;
  name: string;
  email?: string;
  phone?: string;
  fields: string[];
  /** Ask for a one-time code sent through the other channel (needs both email and phone). */
  accessCode?: boolean;
}

export interface RecipientView {
  id: string;
  orderIndex: number;
  type: RecipientType;
  name: string;
  status: RecipientStatus;
  fields: string[];
  emailSentAt: string | null;
  smsSentAt: string | null;
  reminderCount: number;
  completedAt: string | null;
}

export interface WorkflowView {
  id: string;
  status: WorkflowStatus;
  creatorId: string;
  metadata: Record<string, unknown>;
  expiresAt: string;
  currentRecipientOrder: number;
  totalRecipients: number;
  completedRecipients: number;
  originalSha256: string;
  documentSha256: string | null;
  createdAt: string;
  completedAt: string | null;
  recipients?: RecipientView[];
  attachments?: Array<{
    id: string;
    fileName: string;
    fileType: string;
    fileSize: number;
    checksum: string;
    scanStatus: string;
    downloadCount: number;
  }>;
}

export interface RecipientStep {
  workflowId: string;
  recipient: RecipientView;
  fields: Array<{ name: string; type: string; options?: string[]; value: unknown }>;
  documentUrl: string;
}

export interface StoredFile {
  key: string;
  fileName: string;
  fileType: string;
}

type Link = { token: string; accessCode?: string; client: ClientInfo };

export type PdfWorkflowRpc = {
  'pdf-workflow.workflow.create.v1': {
    request: {
      /** The creator is the actor's caller; the workflow is its tenant's. */
      actor: Actor;
      documentKey: string;
      recipients: RecipientInput[];
      expiresInHours?: number;
      metadata?: Record<string, unknown>;
      client: ClientInfo;
    };
    response: {
      workflow: WorkflowView;
      links: Array<{ recipientId: string; orderIndex: number; url: string }>;
    };
  };
  'pdf-workflow.workflow.get.v1': {
    request: { actor: Actor; id: string; creatorId?: string };
    response: WorkflowView;
  };
  'pdf-workflow.workflow.list.v1': {
    request: {
      actor: Actor;
      status?: WorkflowStatus;
      creatorId?: string;
      limit?: number;
      cursor?: string;
    };
    response: { data: WorkflowView[]; nextCursor: string | null };
  };
  'pdf-workflow.workflow.cancel.v1': {
    request: { actor: Actor; id: string; client: ClientInfo };
    response: WorkflowView;
  };
  'pdf-workflow.workflow.extend.v1': {
    request: { actor: Actor; id: string; hours: number; client: ClientInfo };
    response: WorkflowView;
  };
  /** Sends the current recipient's link (and a new access code, which unlocks a locked step) again. */
  'pdf-workflow.workflow.resend.v1': {
    request: { actor: Actor; id: string; client: ClientInfo };
    response: WorkflowView;
  };
  'pdf-workflow.workflow.audit.v1': {
    request: { actor: Actor; id: string };
    response: Array<{
      eventType: string;
      recipientId: string | null;
      eventData: Record<string, unknown>;
      ipAddress: string | null;
      userAgent: string | null;
      at: string;
    }>;
  };
  'pdf-workflow.workflow.stats.v1': {
    request: { actor: Actor };
    response: {
      byStatus: Record<string, number>;
      completionSeconds: { p50: number | null; p90: number | null; average: number | null };
      byRecipientType: Record<string, Record<string, number>>;
    };
  };
  'pdf-workflow.workflow.document.v1': {
    request: { actor: Actor; id: string; client: ClientInfo };
    response: StoredFile & { sha256: string };
  };
  'pdf-workflow.attachment.download.v1': {
    request: { actor: Actor; id: string; attachmentId: string; client: ClientInfo };
    response: StoredFile;
  };
  'pdf-workflow.recipient.open.v1': { request: Link; response: RecipientStep };
  'pdf-workflow.recipient.document.v1': { request: Link; response: StoredFile };
  'pdf-workflow.recipient.save.v1': {
    request: Link & { formData: Record<string, unknown> };
    response: RecipientStep;
  };
  'pdf-workflow.recipient.attach.v1': {
    request: Link & { fileName: string; fileType: string; key: string };
    response: {
      id: string;
      fileName: string;
      fileSize: number;
      checksum: string;
      scanStatus: string;
    };
  };
  'pdf-workflow.recipient.complete.v1': {
    request: Link;
    response: { workflowStatus: WorkflowStatus; completedRecipients: number };
  };
};

export interface PdfWorkflowEvents {
  'pdf-workflow.workflow.created.v1': { workflowId: string; creatorId: string; recipients: number };
  'pdf-workflow.recipient.completed.v1': {
    workflowId: string;
    recipientId: string;
    orderIndex: number;
  };
  'pdf-workflow.workflow.completed.v1': {
    workflowId: string;
    documentSha256: string;
    originalSha256: string;
  };
  'pdf-workflow.workflow.cancelled.v1': { workflowId: string };
  'pdf-workflow.workflow.expired.v1': { workflowId: string };
}

/** Where a creator's uploaded PDFs live: one namespace per caller, inside pdf-workflow's. */
export function workflowUploadPrefix(tenantId: string, creatorId: string): string {
  return `workflows/uploads/${tenantId}/${creatorId}/`;
}

/** Whether a storage key is one of this creator's workflow uploads (and nothing else). */
export function isWorkflowUploadKey(key: unknown, prefix: string): boolean {
  if (typeof key !== 'string' || !key.startsWith(prefix) || !key.endsWith('.pdf')) return false;
  return isUuid(key.slice(prefix.length, -'.pdf'.length));
}
