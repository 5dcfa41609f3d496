import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Application forms, their copies (one JSONB document each, a version for optimistic
 * concurrency), leases with fencing tokens, per-owner flags, and JSON Patch (RFC 6902) and
 * JSON Merge Patch (RFC 7396) applied inside Postgres, so a small change to a large document
 * never travels through the application.
 */
export class Copies1764400000000 implements MigrationInterface {
  name = 'Copies1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE owner_feature_flags (
        owner_id text PRIMARY KEY,
        copies boolean NOT NULL DEFAULT false,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE application_forms (
        id uuid PRIMARY KEY,
        tenant_id text NOT NULL,
        owner_id text NOT NULL,
        uses_copies boolean NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`
      CREATE TABLE copies (
        id uuid PRIMARY KEY,
        application_form_id uuid NOT NULL REFERENCES application_forms (id),
        title text,
        owner_id text NOT NULL,
        locked_at timestamptz,
        soft_deleted_at timestamptz,
        schema_version integer NOT NULL,
        document jsonb NOT NULL CHECK (jsonb_typeof(document) = 'object'),
        version integer NOT NULL DEFAULT 1,
        last_touched_by_user_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(
      `CREATE INDEX copies_form_idx ON copies (application_form_id, last_touched_by_user_at DESC NULLS LAST) WHERE soft_deleted_at IS NULL`,
    );
    await q.query(`CREATE SEQUENCE lease_fencing_tokens`);
    await q.query(`
      CREATE TABLE copy_leases (
        copy_id uuid PRIMARY KEY REFERENCES copies (id),
        holder text NOT NULL,
        token bigint NOT NULL,
        expires_at timestamptz NOT NULL
      )`);

    // RFC 6901 pointer to a text[] path for the jsonb operators.
    await q.query(`
      CREATE FUNCTION json_pointer_path(p text) RETURNS text[] LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE parts text[]; result text[] := '{}'; part text;
      BEGIN
        IF p IS NULL THEN RAISE EXCEPTION 'an operation has no path' USING ERRCODE = 'PT003'; END IF;
        IF p = '' THEN RETURN result; END IF;
        IF left(p, 1) <> '/' THEN RAISE EXCEPTION 'invalid JSON pointer "%"', p USING ERRCODE = 'PT003'; END IF;
        parts := string_to_array(substr(p, 2), '/');
        IF parts IS NULL OR array_length(parts, 1) IS NULL THEN parts := ARRAY['']; END IF;
        FOREACH part IN ARRAY parts LOOP
          result := result || replace(replace(part, '~1', '/'), '~0', '~');
        END LOOP;
        RETURN result;
      END $$`);
    await q.query(`
      CREATE FUNCTION jsonb_patch_add(doc jsonb, path text[], value jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE n int := coalesce(array_length(path, 1), 0); parent jsonb; key text;
      BEGIN
        IF n = 0 THEN RETURN value; END IF;
        parent := doc #> path[1:n - 1];
        key := path[n];
        IF parent IS NULL THEN
          RAISE EXCEPTION 'path /% does not exist', array_to_string(path[1:n - 1], '/') USING ERRCODE = 'PT001';
        END IF;
        IF jsonb_typeof(parent) = 'object' THEN RETURN jsonb_set(doc, path, value, true); END IF;
        IF jsonb_typeof(parent) = 'array' THEN
          IF key = '-' THEN
            RETURN CASE WHEN n = 1 THEN parent || jsonb_build_array(value)
                        ELSE jsonb_set(doc, path[1:n - 1], parent || jsonb_build_array(value)) END;
          END IF;
          IF key !~ '^(0|[1-9][0-9]{0,8})$' OR key::int > jsonb_array_length(parent) THEN
            RAISE EXCEPTION 'array index % is out of range', key USING ERRCODE = 'PT001';
          END IF;
          RETURN jsonb_insert(doc, path, value);
        END IF;
        RAISE EXCEPTION 'path /% is not a container', array_to_string(path[1:n - 1], '/') USING ERRCODE = 'PT001';
      END $$`);
    await q.query(`
      CREATE FUNCTION jsonb_patch(doc jsonb, ops jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE op jsonb; path text[]; src text[]; v jsonb;
      BEGIN
        IF jsonb_typeof(ops) IS DISTINCT FROM 'array' THEN
          RAISE EXCEPTION 'a JSON Patch is an array of operations' USING ERRCODE = 'PT003';
        END IF;
        FOR op IN SELECT value FROM jsonb_array_elements(ops) LOOP
          path := json_pointer_path(op ->> 'path');
          CASE op ->> 'op'
            WHEN 'add' THEN
              IF NOT op ? 'value' THEN RAISE EXCEPTION 'add needs a value' USING ERRCODE = 'PT003'; END IF;
              doc := jsonb_patch_add(doc, path, op -> 'value');
            WHEN 'remove' THEN
              IF doc #> path IS NULL OR coalesce(array_length(path, 1), 0) = 0 THEN
                RAISE EXCEPTION 'path % does not exist', op ->> 'path' USING ERRCODE = 'PT001';
              END IF;
              doc := doc #- path;
            WHEN 'replace' THEN
              IF NOT op ? 'value' THEN RAISE EXCEPTION 'replace needs a value' USING ERRCODE = 'PT003'; END IF;
              IF doc #> path IS NULL THEN RAISE EXCEPTION 'path % does not exist', op ->> 'path' USING ERRCODE = 'PT001'; END IF;
              doc := CASE WHEN coalesce(array_length(path, 1), 0) = 0 THEN op -> 'value' ELSE jsonb_set(doc, path, op -> 'value', false) END;
            WHEN 'test' THEN
              IF (doc #> path) IS DISTINCT FROM (op -> 'value') THEN
                RAISE EXCEPTION 'test failed at %', op ->> 'path' USING ERRCODE = 'PT002';
              END IF;
            WHEN 'move', 'copy' THEN
              src := json_pointer_path(op ->> 'from');
              v := doc #> src;
              IF v IS NULL THEN RAISE EXCEPTION 'path % does not exist', op ->> 'from' USING ERRCODE = 'PT001'; END IF;
              IF op ->> 'op' = 'move' THEN
                IF path[1:coalesce(array_length(src, 1), 0)] = src AND path <> src THEN
                  RAISE EXCEPTION 'cannot move % into itself', op ->> 'from' USING ERRCODE = 'PT003';
                END IF;
                doc := doc #- src;
              END IF;
              doc := jsonb_patch_add(doc, path, v);
            ELSE
              RAISE EXCEPTION 'unknown operation "%"', op ->> 'op' USING ERRCODE = 'PT003';
          END CASE;
        END LOOP;
        RETURN doc;
      END $$`);
    await q.query(`
      CREATE FUNCTION jsonb_merge_patch(target jsonb, patch jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE k text; v jsonb; result jsonb;
      BEGIN
        IF jsonb_typeof(patch) IS DISTINCT FROM 'object' THEN RETURN patch; END IF;
        result := CASE WHEN jsonb_typeof(target) = 'object' THEN target ELSE '{}'::jsonb END;
        FOR k, v IN SELECT key, value FROM jsonb_each(patch) LOOP
          IF jsonb_typeof(v) = 'null' THEN result := result - k;
          ELSE result := jsonb_set(result, ARRAY[k], jsonb_merge_patch(result -> k, v), true);
          END IF;
        END LOOP;
        RETURN result;
      END $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const f of [
      'jsonb_merge_patch(jsonb, jsonb)',
      'jsonb_patch(jsonb, jsonb)',
      'jsonb_patch_add(jsonb, text[], jsonb)',
      'json_pointer_path(text)',
    ]) {
      await q.query(`DROP FUNCTION IF EXISTS ${f}`);
    }
    for (const t of ['copy_leases', 'copies', 'application_forms', 'owner_feature_flags'])
      await q.query(`DROP TABLE IF EXISTS ${t}`);
    await q.query('DROP SEQUENCE IF EXISTS lease_fencing_tokens');
  }
}
