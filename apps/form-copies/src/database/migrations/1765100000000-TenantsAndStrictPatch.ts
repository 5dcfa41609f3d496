import type { MigrationInterface, QueryRunner } from 'typeorm';
import { addTenantColumn, dropTenantColumn } from '@app/database';

/**
 * Owners' flags belong to a tenant (forms already did); JSON Patch follows RFC 6902/6901 to
 * the letter (array indexes are `0` or digits without a leading zero, nothing else; `test`
 * needs a value and fails on a missing path; move and copy need `from`); and
 * `unsealed_sensitive` lists what sealing must do to a document about to be stored.
 */
export class TenantsAndStrictPatch1765100000000 implements MigrationInterface {
  name = 'TenantsAndStrictPatch1765100000000';

  async up(q: QueryRunner): Promise<void> {
    await addTenantColumn(q, 'owner_feature_flags');
    await q.query(`ALTER TABLE owner_feature_flags DROP CONSTRAINT owner_feature_flags_pkey`);
    await q.query(`ALTER TABLE owner_feature_flags ADD PRIMARY KEY (tenant_id, owner_id)`);
    await q.query(`CREATE INDEX application_forms_tenant_idx ON application_forms (tenant_id)`);

    // The value at a path, or SQL NULL when there is none. Unlike `#>`, an array index is
    // only a plain non-negative integer in range: `-1`, `01`, `1e0`, ` 1` reach nothing.
    await q.query(`
      CREATE FUNCTION jsonb_pointer_get(doc jsonb, path text[]) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE node jsonb := doc; seg text;
      BEGIN
        FOREACH seg IN ARRAY path LOOP
          IF jsonb_typeof(node) = 'object' THEN
            IF NOT node ? seg THEN RETURN NULL; END IF;
            node := node -> seg;
          ELSIF jsonb_typeof(node) = 'array' THEN
            IF seg !~ '^(0|[1-9][0-9]{0,8})$' OR seg::int >= jsonb_array_length(node) THEN RETURN NULL; END IF;
            node := node -> seg::int;
          ELSE
            RETURN NULL;
          END IF;
        END LOOP;
        RETURN node;
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION jsonb_patch_add(doc jsonb, path text[], value jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE n int := coalesce(array_length(path, 1), 0); parent jsonb; key text;
      BEGIN
        IF n = 0 THEN RETURN value; END IF;
        parent := jsonb_pointer_get(doc, path[1:n - 1]);
        key := path[n];
        IF parent IS NULL THEN
          RAISE EXCEPTION 'path /% does not exist', array_to_string(path[1:n - 1], '/') USING ERRCODE = 'PT001';
        END IF;
        IF jsonb_typeof(parent) = 'object' THEN
          RETURN CASE WHEN n = 1 THEN parent || jsonb_build_object(key, value)
                      ELSE jsonb_set(doc, path[1:n - 1], parent || jsonb_build_object(key, value)) END;
        END IF;
        IF jsonb_typeof(parent) = 'array' THEN
          IF key = '-' THEN
            RETURN CASE WHEN n = 1 THEN parent || jsonb_build_array(value)
                        ELSE jsonb_set(doc, path[1:n - 1], parent || jsonb_build_array(value)) END;
          END IF;
          IF key !~ '^(0|[1-9][0-9]{0,8})$' OR key::int > jsonb_array_length(parent) THEN
            RAISE EXCEPTION 'array index % is not valid here (0 to %, or -)', key, jsonb_array_length(parent) USING ERRCODE = 'PT001';
          END IF;
          RETURN jsonb_insert(doc, path, value);
        END IF;
        RAISE EXCEPTION 'path /% is not a container', array_to_string(path[1:n - 1], '/') USING ERRCODE = 'PT001';
      END $$`);
    await q.query(`
      CREATE OR REPLACE FUNCTION jsonb_patch(doc jsonb, ops jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
      DECLARE op jsonb; path text[]; src text[]; v jsonb; n int;
      BEGIN
        IF jsonb_typeof(ops) IS DISTINCT FROM 'array' THEN
          RAISE EXCEPTION 'a JSON Patch is an array of operations' USING ERRCODE = 'PT003';
        END IF;
        FOR op IN SELECT value FROM jsonb_array_elements(ops) LOOP
          IF jsonb_typeof(op) IS DISTINCT FROM 'object' THEN
            RAISE EXCEPTION 'an operation is a JSON object' USING ERRCODE = 'PT003';
          END IF;
          path := json_pointer_path(op ->> 'path');
          n := coalesce(array_length(path, 1), 0);
          CASE op ->> 'op'
            WHEN 'add' THEN
              IF NOT op ? 'value' THEN RAISE EXCEPTION 'add needs a value' USING ERRCODE = 'PT003'; END IF;
              doc := jsonb_patch_add(doc, path, op -> 'value');
            WHEN 'remove' THEN
              IF n = 0 OR jsonb_pointer_get(doc, path) IS NULL THEN
                RAISE EXCEPTION 'path % does not exist', op ->> 'path' USING ERRCODE = 'PT001';
              END IF;
              doc := doc #- path;
            WHEN 'replace' THEN
              IF NOT op ? 'value' THEN RAISE EXCEPTION 'replace needs a value' USING ERRCODE = 'PT003'; END IF;
              IF jsonb_pointer_get(doc, path) IS NULL THEN
                RAISE EXCEPTION 'path % does not exist', op ->> 'path' USING ERRCODE = 'PT001';
              END IF;
              doc := CASE WHEN n = 0 THEN op -> 'value' ELSE jsonb_set(doc, path, op -> 'value', false) END;
            WHEN 'test' THEN
              IF NOT op ? 'value' THEN RAISE EXCEPTION 'test needs a value' USING ERRCODE = 'PT003'; END IF;
              v := jsonb_pointer_get(doc, path);
              IF v IS NULL OR v <> op -> 'value' THEN
                RAISE EXCEPTION 'test failed at %', op ->> 'path' USING ERRCODE = 'PT002';
              END IF;
            WHEN 'move', 'copy' THEN
              IF NOT op ? 'from' THEN RAISE EXCEPTION '% needs from', op ->> 'op' USING ERRCODE = 'PT003'; END IF;
              src := json_pointer_path(op ->> 'from');
              v := jsonb_pointer_get(doc, src);
              IF v IS NULL THEN RAISE EXCEPTION 'path % does not exist', op ->> 'from' USING ERRCODE = 'PT001'; END IF;
              IF op ->> 'op' = 'move' THEN
                IF path = src THEN CONTINUE; END IF;
                IF path[1:coalesce(array_length(src, 1), 0)] = src THEN
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

    // Each object in the document that answers a sensitive question and still has a plain
    // `value` (exactly what the trigger refuses): where it is, its id (the seal's binding).
    await q.query(`
      CREATE FUNCTION unsealed_sensitive(doc jsonb)
        RETURNS TABLE (path text[], answer_id text, value jsonb) LANGUAGE sql STABLE
        SET search_path FROM CURRENT AS $$
        WITH RECURSIVE walk(path, node) AS (
          SELECT '{}'::text[], doc
          UNION ALL
          SELECT w.path || c.k, c.v FROM walk w CROSS JOIN LATERAL (
            SELECT e.key AS k, e.value AS v
              FROM jsonb_each(CASE WHEN jsonb_typeof(w.node) = 'object' THEN w.node ELSE '{}' END) e
            UNION ALL
            SELECT (a.ord - 1)::text, a.value
              FROM jsonb_array_elements(CASE WHEN jsonb_typeof(w.node) = 'array' THEN w.node ELSE '[]' END)
                   WITH ORDINALITY AS a(value, ord)
          ) c
        )
        SELECT w.path,
               CASE WHEN jsonb_typeof(w.node -> 'id') = 'string' THEN w.node ->> 'id' ELSE '' END,
               w.node -> 'value'
          FROM walk w
         WHERE jsonb_typeof(w.node) = 'object' AND w.node ? 'value'
           AND (w.node -> 'question_id') #>> '{}' IN (SELECT question_id FROM sensitive_questions)
      $$`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP FUNCTION IF EXISTS unsealed_sensitive(jsonb)');
    await q.query('DROP INDEX IF EXISTS application_forms_tenant_idx');
    // jsonb_patch and jsonb_patch_add keep their stricter bodies; the older ones accepted
    // pointers RFC 6901 does not.
    await q.query(`ALTER TABLE owner_feature_flags DROP CONSTRAINT owner_feature_flags_pkey`);
    await q.query(`DELETE FROM owner_feature_flags a USING owner_feature_flags b
      WHERE a.owner_id = b.owner_id AND a.tenant_id > b.tenant_id`);
    await dropTenantColumn(q, 'owner_feature_flags');
    await q.query(`ALTER TABLE owner_feature_flags ADD PRIMARY KEY (owner_id)`);
  }
}
