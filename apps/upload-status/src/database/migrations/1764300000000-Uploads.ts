import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Document uploads with their polled status, claims for polling, and transition history. */
export class Uploads1764300000000 implements MigrationInterface {
  name = 'Uploads1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE document_uploads (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        form526_submission_id text NOT NULL,
        lighthouse_request_id bigint NOT NULL,
        document_type text NOT NULL
          CHECK (document_type IN ('bdd_instructions', 'form_0781', 'form_0781a', 'veteran_upload')),
        form_attachment_id text,
        uploaded_at timestamptz,
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'in_progress', 'completed', 'failed')),
        current_step text,
        error_step text,
        error_detail text,
        last_polled_at timestamptz,
        poll_claim_token uuid,
        poll_claimed_until timestamptz,
        not_found_since timestamptz,
        completed_at timestamptz,
        failed_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT document_uploads_request_id_key UNIQUE (lighthouse_request_id)
      )`);
    // What the poller scans: open uploads by when they were last polled.
    await q.query(`
      CREATE INDEX document_uploads_due_idx ON document_uploads (last_polled_at NULLS FIRST)
       WHERE status IN ('pending', 'in_progress')`);
    await q.query(
      `CREATE INDEX document_uploads_claim_idx ON document_uploads (poll_claim_token) WHERE poll_claim_token IS NOT NULL`,
    );
    await q.query(
      `CREATE INDEX document_uploads_submission_idx ON document_uploads (form526_submission_id)`,
    );
    await q.query(
      `CREATE INDEX document_uploads_list_idx ON document_uploads (created_at DESC, id DESC)`,
    );
    await q.query(`
      CREATE TABLE document_upload_transitions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        document_upload_id uuid NOT NULL REFERENCES document_uploads (id) ON DELETE CASCADE,
        from_status text,
        to_status text NOT NULL,
        step text,
        detail text,
        occurred_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX document_upload_transitions_upload_idx ON document_upload_transitions (document_upload_id, id)`,
    );
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE IF EXISTS document_upload_transitions');
    await q.query('DROP TABLE IF EXISTS document_uploads');
  }
}
