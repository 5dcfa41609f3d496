import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { ExportConfig, GmailTriggerConfig } from '@app/contracts';
import type { Owner } from '../common';
import type { AutomationRow, AutomationRunRow } from './automation-rows';

/**
 * The SQL of automations and their firings. `scope` is the caller's tenant, or null for a
 * platform admin reading across tenants; writes always name the tenant.
 */
@Injectable()
export class AutomationsRepository {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(fn);
  }

  // --- automations ---

  async insert(
    m: EntityManager,
    owner: Owner,
    a: {
      name: string;
      triggerType: string;
      triggerConfig: GmailTriggerConfig;
      jobId: string;
      accountId: string;
      exportConfig: ExportConfig;
    },
  ): Promise<AutomationRow> {
    const [row] = await m.query<AutomationRow[]>(
      `INSERT INTO automations (user_id, name, trigger_type, trigger_config, job_id, integration_account_id, export_config, tenant_id)
       VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, $8) RETURNING *`,
      [
        owner.userId,
        a.name,
        a.triggerType,
        JSON.stringify(a.triggerConfig),
        a.jobId,
        a.accountId,
        JSON.stringify(a.exportConfig),
        owner.tenantId,
      ],
    );
    return row;
  }

  async one(id: string, scope: string | null): Promise<AutomationRow | undefined> {
    const [row] = await this.ds.query<AutomationRow[]>(
      `SELECT * FROM automations WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      [id, scope],
    );
    return row;
  }

  list(scope: string | null): Promise<AutomationRow[]> {
    return this.ds.query<AutomationRow[]>(
      `SELECT * FROM automations WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY created_at DESC, id DESC`,
      [scope],
    );
  }

  /** Sets what is given (null leaves a setting as it is). */
  async update(
    id: string,
    tenantId: string,
    set: { isEnabled: boolean | null; name: string | null },
  ): Promise<AutomationRow | undefined> {
    const [[row]] = await this.ds.query<[AutomationRow[], number]>(
      `UPDATE automations SET is_enabled = coalesce($3, is_enabled), name = coalesce($4, name), updated_at = now()
        WHERE id = $1 AND tenant_id = $2 RETURNING *`,
      [id, tenantId, set.isEnabled, set.name],
    );
    return row;
  }

  runs(automationId: string): Promise<AutomationRunRow[]> {
    return this.ds.query<AutomationRunRow[]>(
      `SELECT * FROM automation_runs WHERE automation_id = $1 ORDER BY triggered_at DESC, id DESC LIMIT 500`,
      [automationId],
    );
  }

  // --- the Gmail sync ---

  /** The enabled automations on a connected Google mailbox. */
  async onMailbox(m: EntityManager, email: string): Promise<string[]> {
    const rows = await m.query<Array<{ id: string }>>(
      `SELECT a.id FROM automations a JOIN integration_accounts i ON i.id = a.integration_account_id
        WHERE a.is_enabled AND i.provider = 'google' AND i.disconnected_at IS NULL AND lower(i.email) = lower($1)`,
      [email],
    );
    return rows.map((r) => r.id);
  }

  /** An automation that can sync: enabled, its account still connected. */
  async syncable(id: string): Promise<AutomationRow | undefined> {
    const [a] = await this.ds.query<AutomationRow[]>(
      `SELECT a.* FROM automations a JOIN integration_accounts i ON i.id = a.integration_account_id
        WHERE a.id = $1 AND a.is_enabled AND i.disconnected_at IS NULL`,
      [id],
    );
    return a;
  }

  async markSynced(id: string): Promise<void> {
    await this.ds.query(`UPDATE automations SET last_synced_at = now() WHERE id = $1`, [id]);
  }

  /** A cursor only moves forward, whichever of two syncs writes last. */
  async advanceCursor(id: string, historyId: string): Promise<void> {
    await this.ds.query(
      `UPDATE automations SET history_cursor = $2, updated_at = now()
        WHERE id = $1 AND (history_cursor IS NULL OR history_cursor::numeric < $2::numeric)`,
      [id, historyId],
    );
  }

  async setWatchExpiry(accountId: string, expirationMs: number | string): Promise<void> {
    await this.ds.query(
      `UPDATE integration_accounts SET watch_expires_at = to_timestamp($2::bigint / 1000.0),
              updated_at = now() WHERE id = $1`,
      [accountId, expirationMs],
    );
  }

  // --- firings ---

  /** Of these attachments, the ones that fired before (in one query). */
  fired(
    automationId: string,
    candidates: Array<{ messageId: string; attachmentId: string }>,
  ): Promise<Array<{ messageId: string; attachmentId: string }>> {
    return this.ds.query(
      `SELECT message_id AS "messageId", attachment_id AS "attachmentId" FROM automation_runs
        WHERE automation_id = $1 AND (message_id, attachment_id) IN
          (SELECT * FROM unnest($2::text[], $3::text[]))`,
      [automationId, candidates.map((c) => c.messageId), candidates.map((c) => c.attachmentId)],
    );
  }

  /**
   * A firing for this attachment, unless one exists: the unique constraint on automation,
   * message and attachment decides, whichever replica asks. Null when it fired already.
   */
  async claimFiring(
    m: EntityManager,
    automationId: string,
    messageId: string,
    attachmentId: string,
  ): Promise<string | null> {
    const [ar] = await m.query<Array<{ id: string }>>(
      `INSERT INTO automation_runs (automation_id, message_id, attachment_id) VALUES ($1, $2, $3)
       ON CONFLICT ON CONSTRAINT uq_automation_runs_attachment DO NOTHING RETURNING id`,
      [automationId, messageId, attachmentId],
    );
    if (!ar) return null;
    await m.query(`UPDATE automations SET last_fired_at = now() WHERE id = $1`, [automationId]);
    return ar.id;
  }

  async firingFailed(m: EntityManager, id: string, error: string): Promise<void> {
    await m.query(
      `UPDATE automation_runs SET status = 'failed', error_message = $2, completed_at = now() WHERE id = $1`,
      [id, error.slice(0, 2000)],
    );
  }

  async firingRan(m: EntityManager, id: string, runId: string): Promise<void> {
    await m.query(`UPDATE automation_runs SET run_id = $2 WHERE id = $1`, [id, runId]);
  }

  /** The firings waiting for this run, with what their automation exports. */
  waitingFor(
    m: EntityManager,
    runId: string,
  ): Promise<Array<{ id: string; export_config: ExportConfig; integration_account_id: string }>> {
    return m.query(
      `SELECT ar.id, a.export_config, a.integration_account_id
         FROM automation_runs ar JOIN automations a ON a.id = ar.automation_id
        WHERE ar.run_id = $1 AND ar.status = 'pending' AND ar.export_id IS NULL`,
      [runId],
    );
  }

  async firingExported(m: EntityManager, id: string, exportId: string): Promise<void> {
    await m.query(`UPDATE automation_runs SET export_id = $2 WHERE id = $1`, [id, exportId]);
  }
}
