/** upload-status: Form 526 document uploads tracked through Lighthouse by bulk polling. */

import type { Actor } from './tenancy';

export const DOCUMENT_TYPES = [
  'bdd_instructions',
  'form_0781',
  'form_0781a',
  'veteran_upload',
] as const;
export type DocumentType = (typeof DOCUMENT_TYPES)[number];

export const UPLOAD_STATUSES = ['pending', 'in_progress', 'completed', 'failed'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export interface UploadIntake {
  form526SubmissionId: string;
  lighthouseRequestId: string;
  documentType: DocumentType;
  formAttachmentId?: string | null;
  uploadedAt?: string | null;
}

export interface UploadTransitionView {
  from: UploadStatus | null;
  to: UploadStatus;
  step: string | null;
  detail: string | null;
  at: string;
}

export interface UploadView {
  id: string;
  form526SubmissionId: string;
  lighthouseRequestId: string;
  documentType: DocumentType;
  formAttachmentId: string | null;
  uploadedAt: string | null;
  status: UploadStatus;
  currentStep: string | null;
  error: { step: string | null; detail: string | null } | null;
  lastPolledAt: string | null;
  /** Lighthouse's own start and end of processing (its `time.startTime`/`endTime`). */
  lighthouseStartedAt: string | null;
  lighthouseEndedAt: string | null;
  createdAt: string;
  updatedAt: string;
  history?: UploadTransitionView[];
}

/** A page of uploads: the platform's list envelope (`data`, then the cursor of the next page). */
export interface UploadPage {
  data: UploadView[];
  nextCursor: string | null;
}

export interface UploadListQuery {
  form526SubmissionId?: string;
  status?: UploadStatus;
  documentType?: DocumentType;
  limit?: number;
  cursor?: string;
}

export interface SubmissionDocumentStatus {
  form526SubmissionId: string;
  overall: 'no_uploads' | 'in_progress' | 'completed' | 'failed';
  canProceed: boolean;
  reasons: string[];
  byDocumentType: Partial<
    Record<DocumentType, { total: number } & Partial<Record<UploadStatus, number>>>
  >;
}

export type UploadStatusRpc = {
  'upload-status.upload.record.v1': {
    request: UploadIntake & { actor: Actor };
    response: { created: boolean; upload: UploadView };
  };
  'upload-status.upload.get.v1': { request: { actor: Actor; id: string }; response: UploadView };
  'upload-status.upload.list.v1': {
    request: UploadListQuery & { actor: Actor };
    response: UploadPage;
  };
  'upload-status.submission.document-status.v1': {
    request: { actor: Actor; form526SubmissionId: string; formAttachmentIds?: string[] };
    response: SubmissionDocumentStatus;
  };
};

export interface UploadStatusEvents {
  /**
   * Published by claim systems that upload and publish instead of calling; the upload is
   * the named tenant's (`default` when none is named).
   */
  'claims.document.uploaded.v1': UploadIntake & { tenantId?: string };
  'upload-status.upload.completed.v1': {
    uploadId: string;
    lighthouseRequestId: string;
    form526SubmissionId: string;
    documentType: DocumentType;
    completedAt: string;
  };
  'upload-status.upload.failed.v1': {
    uploadId: string;
    lighthouseRequestId: string;
    form526SubmissionId: string;
    documentType: DocumentType;
    step: string | null;
    detail: string | null;
    failedAt: string;
  };
  /** Work item on the service's own queue: poll one claimed batch. */
  'upload-status.poll-batch.requested.v1': { claimToken: string; size: number };
}
