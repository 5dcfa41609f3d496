import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A stored plaintext answer to a sensitive question is impossible, whatever code path writes
 * the document: the sensitive question ids live in a table the service fills from its
 * configuration at boot, and a trigger refuses (SQLSTATE PT004) any document in which an
 * object answering one of them still has a `value` (sealing moves it to `encrypted_value`).
 */
export class SensitiveStaysSealed1765000000000 implements MigrationInterface {
  name = 'SensitiveStaysSealed1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE sensitive_questions (question_id text PRIMARY KEY)`);
    await q.query(`
      CREATE FUNCTION refuse_unsealed_sensitive() RETURNS trigger LANGUAGE plpgsql
        -- The schema's own table, whatever the writing session's search_path is.
        SET search_path FROM CURRENT AS $$
      DECLARE found text;
      BEGIN
        SELECT qid INTO found
          FROM jsonb_path_query(NEW.document, 'lax $.** ? (exists (@.value)).question_id') AS p(qid_json),
               LATERAL (SELECT p.qid_json #>> '{}' AS qid) x
         WHERE x.qid IN (SELECT question_id FROM sensitive_questions)
         LIMIT 1;
        IF found IS NOT NULL THEN
          RAISE EXCEPTION 'an answer to the sensitive question % would be stored unsealed', found
            USING ERRCODE = 'PT004';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER copies_sensitive_sealed BEFORE INSERT OR UPDATE OF document ON copies
        FOR EACH ROW EXECUTE FUNCTION refuse_unsealed_sensitive()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TRIGGER IF EXISTS copies_sensitive_sealed ON copies');
    await q.query('DROP FUNCTION IF EXISTS refuse_unsealed_sensitive()');
    await q.query('DROP TABLE IF EXISTS sensitive_questions');
  }
}
