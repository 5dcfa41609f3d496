import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Workflow sessions, recipients reached by secret links, attachments, and an append-only audit log. */
export class Workflows1764500000000 implements MigrationInterface {
  name = 'Workflows1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE workflow_sessions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        original_key text,
        original_sha256 text NOT NULL,
        document_key text,
        document_sha256 text,
        status text NOT NULL DEFAULT 'ACTIVE' CHECK (status IN ('ACTIVE', 'COMPLETED', 'CANCELLED', 'EXPIRED')),
        creator_id text NOT NULL,
        metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
        fields jsonb NOT NULL,
        expires_at timestamptz NOT NULL,
        current_recipient_order integer NOT NULL DEFAULT 0,
        total_recipients integer NOT NULL CHECK (total_recipients > 0),
        completed_recipients integer NOT NULL DEFAULT 0,
        completed_at timestamptz,
        purged_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (completed_recipients BETWEEN 0 AND total_recipients)
      )`);
    await q.query(
      `CREATE INDEX idx_workflow_status_created ON workflow_sessions (status, created_at DESC, id DESC)`,
    );
    await q.query(
      `CREATE INDEX idx_workflow_creator_created ON workflow_sessions (creator_id, created_at DESC, id DESC)`,
    );
    await q.query(
      `CREATE INDEX idx_workflow_active_expiry ON workflow_sessions (expires_at) WHERE status = 'ACTIVE'`,
    );
    await q.query(`
      CREATE TABLE recipients (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES workflow_sessions (id) ON DELETE CASCADE,
        order_index integer NOT NULL CHECK (order_index >= 0),
        link_hash bytea NOT NULL,
        access_code_hash bytea,
        status text NOT NULL DEFAULT 'PENDING'
          CHECK (status IN ('PENDING', 'ACCESSED', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'EXPIRED')),
        recipient_type text NOT NULL CHECK (recipient_type IN ('PRESCRIBER', 'PATIENT', 'PHARMACY', 'INSURANCE', 'CUSTOM')),
        name text NOT NULL,
        email text,
        phone text,
        fields text[] NOT NULL DEFAULT '{}',
        form_data jsonb NOT NULL DEFAULT '{}'::jsonb,
        email_sent_at timestamptz,
        sms_sent_at timestamptz,
        reminder_count integer NOT NULL DEFAULT 0,
        next_reminder_at timestamptz,
        accessed_at timestamptz,
        completed_at timestamptz,
        error_message text,
        retry_count integer NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (email IS NOT NULL OR phone IS NOT NULL),
        CONSTRAINT recipients_session_order_key UNIQUE (session_id, order_index)
      )`);
    // The most used index: every recipient request finds its row by the link's hash.
    await q.query(`CREATE UNIQUE INDEX idx_recipient_link_hash ON recipients (link_hash)`);
    await q.query(`CREATE INDEX idx_recipient_status_session ON recipients (session_id, status)`);
    await q.query(
      `CREATE INDEX idx_recipient_next_reminder ON recipients (next_reminder_at) WHERE next_reminder_at IS NOT NULL`,
    );
    await q.query(`
      CREATE TABLE attachments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        session_id uuid NOT NULL REFERENCES workflow_sessions (id) ON DELETE CASCADE,
        recipient_id uuid REFERENCES recipients (id),
        file_name text NOT NULL,
        file_type text NOT NULL,
        file_size bigint NOT NULL,
        storage_key text,
        checksum text NOT NULL,
        scan_status text NOT NULL CHECK (scan_status IN ('clean', 'infected', 'error')),
        download_count integer NOT NULL DEFAULT 0,
        last_download timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX idx_attachment_session_uploaded ON attachments (session_id, created_at)`,
    );
    await q.query(`
      CREATE TABLE workflow_audit_logs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        session_id uuid NOT NULL,
        recipient_id uuid,
        event_type text NOT NULL,
        event_data jsonb NOT NULL DEFAULT '{}'::jsonb,
        ip_address inet,
        user_agent text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX idx_audit_session ON workflow_audit_logs (session_id, id)`);
    // Append-only: the audit outlives purges and is never rewritten.
    await q.query(`
      CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'workflow_audit_logs is append-only'; END $$`);
    await q.query(`
      CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON workflow_audit_logs
      FOR EACH ROW EXECUTE FUNCTION audit_is_append_only()`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of ['workflow_audit_logs', 'attachments', 'recipients', 'workflow_sessions'])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    await q.query('DROP FUNCTION IF EXISTS audit_is_append_only()');
  }
}
