import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A version per manifest that moves whenever anything its view shows changes: the manifest
 * row itself, its sources, its records. Triggers keep it, so no code path can change a
 * manifest without moving it; readers that poll compare it instead of rebuilding the view.
 */
export class ManifestVersion1765300000000 implements MigrationInterface {
  name = 'ManifestVersion1765300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE manifests ADD COLUMN version bigint NOT NULL DEFAULT 1`);
    await q.query(`
      CREATE FUNCTION manifest_version_row() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW IS DISTINCT FROM OLD THEN NEW.version := OLD.version + 1; END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER manifests_version BEFORE UPDATE ON manifests
        FOR EACH ROW EXECUTE FUNCTION manifest_version_row()`);
    // Sources and records: once per statement, for the manifests the statement touched.
    await q.query(`
      CREATE FUNCTION manifest_version_sources() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        UPDATE manifests SET version = version + 1
         WHERE id IN (SELECT manifest_id FROM changed);
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION manifest_version_records() RETURNS trigger LANGUAGE plpgsql
        SET search_path FROM CURRENT AS $$
      BEGIN
        UPDATE manifests SET version = version + 1
         WHERE id IN (SELECT s.manifest_id FROM manifest_sources s
                       WHERE s.id IN (SELECT manifest_source_id FROM changed));
        RETURN NULL;
      END $$`);
    for (const [table, fn] of [
      ['manifest_sources', 'manifest_version_sources'],
      ['records', 'manifest_version_records'],
    ]) {
      for (const [event, ref] of [
        ['INSERT', 'NEW'],
        ['UPDATE', 'NEW'],
        ['DELETE', 'OLD'],
      ]) {
        await q.query(`
          CREATE TRIGGER ${table}_version_${event.toLowerCase()} AFTER ${event} ON ${table}
            REFERENCING ${ref} TABLE AS changed
            FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`);
      }
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['manifest_sources', 'records'])
      for (const event of ['insert', 'update', 'delete'])
        await q.query(`DROP TRIGGER IF EXISTS ${table}_version_${event} ON ${table}`);
    await q.query('DROP TRIGGER IF EXISTS manifests_version ON manifests');
    await q.query('DROP FUNCTION IF EXISTS manifest_version_records()');
    await q.query('DROP FUNCTION IF EXISTS manifest_version_sources()');
    await q.query('DROP FUNCTION IF EXISTS manifest_version_row()');
    await q.query('ALTER TABLE manifests DROP COLUMN version');
  }
}
