import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * One manifest per file number, one source row per manifest and upstream, one record per
 * upstream document, and per-user audit rows. Uniqueness lives in the database.
 */
export class Manifests1764200000000 implements MigrationInterface {
  name = 'Manifests1764200000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE manifests (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        file_number text NOT NULL,
        veteran_first_name text,
        veteran_last_name text,
        veteran_last_four_ssn text,
        zipfile_size bigint NOT NULL DEFAULT 0,
        files_status text NOT NULL DEFAULT 'initialized'
          CHECK (files_status IN ('initialized', 'pending', 'finished', 'failed')),
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT manifests_file_number_key UNIQUE (file_number)
      )`);
    await q.query(`
      CREATE TABLE manifest_sources (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        manifest_id uuid NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
        source text NOT NULL CHECK (source IN ('VBMS', 'VVA')),
        status text NOT NULL DEFAULT 'initialized'
          CHECK (status IN ('initialized', 'pending', 'success', 'failed')),
        fetched_at timestamptz,
        claim_token uuid,
        claimed_until timestamptz,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT manifest_sources_manifest_source_key UNIQUE (manifest_id, source)
      )`);
    await q.query(`
      CREATE TABLE records (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        manifest_source_id uuid NOT NULL REFERENCES manifest_sources (id) ON DELETE CASCADE,
        source text NOT NULL CHECK (source IN ('VBMS', 'VVA')),
        status text NOT NULL DEFAULT 'initialized' CHECK (status IN ('initialized', 'success', 'failed')),
        external_document_id text NOT NULL,
        series_id text,
        version_id text,
        mime_type text,
        received_at timestamptz,
        upload_date timestamptz,
        type_description text,
        type_id text,
        size bigint,
        jro text,
        storage_key text,
        content_sha256 text,
        content_size bigint,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT records_source_document_key UNIQUE (manifest_source_id, external_document_id)
      )`);
    await q.query(`CREATE INDEX records_version_id_idx ON records (version_id)`);
    await q.query(
      `CREATE INDEX records_external_document_id_idx ON records (external_document_id)`,
    );
    await q.query(`
      CREATE TABLE user_manifests (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        manifest_id uuid NOT NULL REFERENCES manifests (id) ON DELETE CASCADE,
        css_id text NOT NULL,
        station_id text NOT NULL,
        action text NOT NULL
          CHECK (action IN ('requested', 'refreshed', 'files_download', 'document_viewed', 'zip_downloaded')),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX user_manifests_user_idx ON user_manifests (css_id, station_id, created_at DESC)`,
    );
    await q.query(
      `CREATE INDEX user_manifests_manifest_user_idx ON user_manifests (manifest_id, css_id, station_id)`,
    );
    await q.query(`
      CREATE TABLE document_counts (
        file_number text PRIMARY KEY,
        documents integer NOT NULL,
        fetched_at timestamptz NOT NULL DEFAULT now()
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const t of [
      'document_counts',
      'user_manifests',
      'records',
      'manifest_sources',
      'manifests',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    }
  }
}
