import type {
  AutomationRunView,
  AutomationView,
  ExportConfig,
  GmailTriggerConfig,
} from '@app/contracts';
import { iso } from '../common';

export interface AutomationRow {
  id: string;
  user_id: string;
  tenant_id: string;
  name: string;
  is_enabled: boolean;
  trigger_type: 'gmail_attachment';
  trigger_config: GmailTriggerConfig;
  job_id: string;
  integration_account_id: string;
  export_config: ExportConfig;
  history_cursor: string | null;
  last_fired_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface AutomationRunRow {
  id: string;
  automation_id: string;
  run_id: string | null;
  export_id: string | null;
  message_id: string;
  attachment_id: string;
  status: AutomationRunView['status'];
  error_message: string | null;
  triggered_at: Date;
  completed_at: Date | null;
}

export function automationView(r: AutomationRow): AutomationView {
  return {
    id: r.id,
    name: r.name,
    isEnabled: r.is_enabled,
    triggerType: r.trigger_type,
    triggerConfig: r.trigger_config,
    jobId: r.job_id,
    integrationAccountId: r.integration_account_id,
    exportConfig: r.export_config,
    lastFiredAt: iso(r.last_fired_at),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export function automationRunView(r: AutomationRunRow): AutomationRunView {
  return {
    id: r.id,
    automationId: r.automation_id,
    runId: r.run_id,
    exportId: r.export_id,
    messageId: r.message_id,
    attachmentId: r.attachment_id,
    status: r.status,
    errorMessage: r.error_message,
    triggeredAt: r.triggered_at.toISOString(),
    completedAt: iso(r.completed_at),
  };
}
