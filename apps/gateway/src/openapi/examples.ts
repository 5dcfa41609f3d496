/**
 * An example body per request DTO, by class name. The OpenAPI document shows them, and a
 * test runs each through the DTO's own validation, so an example can never drift from what
 * the route accepts.
 */
export const BODY_EXAMPLES: Record<string, unknown> = {
  RecordUploadBody: {
    form526SubmissionId: '123456',
    lighthouseRequestId: '9007199254740993',
    documentType: 'form_0781a',
    formAttachmentId: 'att-1',
    uploadedAt: '2026-11-30T14:05:00.000Z',
  },
  CreateFormBody: {
    ownerId: 'applicant-17',
    title: 'Term life application',
    document: { applicant: { name: 'Łukasz Wiśniewski', birthDate: '1984-02-29' } },
  },
  CreateCopyBody: { title: 'Draft for review', ownerId: 'applicant-17' },
  CloneBody: { targetTenantId: 'insurer-b', ownerId: 'applicant-17' },
  DuplicateBody: { title: 'Second draft' },
  LeaseBody: { holder: 'agent-42', ttlSeconds: 300 },
  RenewBody: { ttlSeconds: 300 },
  FlagsBody: { copies: true },
  CreateWorkflowBody: {
    documentKey: 'uploads/0b6a2f0e-6d0c-4b8a-9d2f-6a1f1f3c9e10',
    recipients: [
      {
        type: 'PATIENT',
        name: 'Ελένη Παπαδοπούλου',
        email: 'eleni@example.org',
        fields: ['patient_name', 'patient_signature_date'],
        accessCode: true,
      },
      {
        type: 'PRESCRIBER',
        name: 'Dr. Amal Haddad',
        email: 'a.haddad@example.org',
        fields: ['npi'],
      },
    ],
    expiresInHours: 72,
  },
  ExtendBody: { hours: 24 },
  FormDataBody: { formData: { patient_name: 'Ελένη Παπαδοπούλου' } },
  AttachmentBody: {
    fileName: 'insurance-card.pdf',
    contentType: 'application/pdf',
    dataBase64: 'JVBERi0xLjQK',
  },
  CreateTemplateBody: {
    name: 'Invoices',
    fields: [
      { name: 'invoice_number', dataType: 'text', description: 'The invoice number' },
      { name: 'total', dataType: 'currency' },
    ],
  },
  CreateJobBody: { name: 'November invoices', templateId: '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b' },
  FieldsBody: { fields: [{ name: 'due_date', dataType: 'date' }] },
  UpdateJobBody: { engine: 'model', defaultCurrency: 'EUR' },
  StartRunBody: { engine: 'rules' },
  AddFileBody: { source: 'upload', fileName: 'invoice-0042.pdf', contentBase64: 'JVBERi0xLjQK' },
  ExportBody: { destType: 'download', fileType: 'xlsx' },
  PubSubPushBody: {
    message: {
      data: 'eyJlbWFpbEFkZHJlc3MiOiJhcEBleGFtcGxlLm9yZyIsImhpc3RvcnlJZCI6MTIzNH0=',
      messageId: '2070443601311540',
      publishTime: '2026-11-30T14:05:00.000Z',
    },
    subscription: 'projects/example/subscriptions/gmail-push',
  },
  CreateAutomationBody: {
    name: 'Invoices from the AP mailbox',
    triggerType: 'gmail_attachment',
    triggerConfig: {
      query: 'from:billing@example.com has:attachment',
      mimeTypes: ['application/pdf'],
    },
    jobId: '6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b',
    integrationAccountId: '0b6a2f0e-6d0c-4b8a-9d2f-6a1f1f3c9e10',
    exportConfig: { dest: 'download', fileType: 'csv' },
  },
  UpdateAutomationBody: { isEnabled: false },
  CreateKeyBody: {
    tenantId: 'caseflow',
    callerId: 'reader',
    scopes: ['efolder', 'uploads:read'],
    expiresInDays: 90,
  },
  RotateKeyBody: { overlapSeconds: 3600, expiresInDays: 90 },
};
