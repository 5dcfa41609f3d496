import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { ApplicationFormView, CopyView, LeaseView, PatchKind } from '@app/contracts';

export interface CopyRow {
  id: string;
  application_form_id: string;
  title: string | null;
  owner_id: string;
  locked_at: Date | null;
  soft_deleted_at: Date | null;
  schema_version: number;
  version: number;
  last_touched_by_user_at: Date | null;
  created_at: Date;
  updated_at: Date;
  document?: Record<string, unknown>;
  lease_token: string | null;
  tenant_id: string;
}

/** An answer to a sensitive question that a patch would leave in plaintext. */
export interface UnsealedAnswer {
  /** Path of the answer object in the document. */
  path: string[];
  /** The answer's id, which its seal is bound to ('' when it has none). */
  id: string;
  value: unknown;
}

const PATCH_FN = { 'json-patch': 'jsonb_patch', 'merge-patch': 'jsonb_merge_patch' } as const;

export interface FormRow {
  id: string;
  tenant_id: string;
  owner_id: string;
  uses_copies: boolean;
  created_at: Date;
}

const META = `c.id, c.application_form_id, c.title, c.owner_id, c.locked_at, c.soft_deleted_at, c.schema_version, c.version,
  c.last_touched_by_user_at, c.created_at, c.updated_at, l.token::text AS lease_token, f.tenant_id`;
const FROM = `copies c JOIN application_forms f ON f.id = c.application_form_id
  LEFT JOIN copy_leases l ON l.copy_id = c.id AND l.expires_at > now()`;

export function copyView(r: CopyRow, document?: Record<string, unknown>): CopyView {
  return {
    id: r.id,
    applicationFormId: r.application_form_id,
    title: r.title,
    ownerId: r.owner_id,
    lockedAt: r.locked_at?.toISOString() ?? null,
    schemaVersion: r.schema_version,
    version: r.version,
    lastTouchedByUserAt: r.last_touched_by_user_at?.toISOString() ?? null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    ...(document ? { document } : {}),
  };
}

export function formView(f: FormRow): ApplicationFormView {
  return {
    id: f.id,
    tenantId: f.tenant_id,
    ownerId: f.owner_id,
    usesCopies: f.uses_copies,
    createdAt: f.created_at.toISOString(),
  };
}

@Injectable()
export class CopiesRepository {
  constructor(@InjectDataSource() readonly ds: DataSource) {}

  async flag(
    tenantId: string,
    ownerId: string,
    m: EntityManager | DataSource = this.ds,
  ): Promise<boolean> {
    const rows = await m.query<Array<{ copies: boolean }>>(
      `SELECT copies FROM owner_feature_flags WHERE tenant_id = $1 AND owner_id = $2`,
      [tenantId, ownerId],
    );
    return rows[0]?.copies ?? false;
  }

  async setFlag(tenantId: string, ownerId: string, copies: boolean): Promise<void> {
    await this.ds.query(
      `INSERT INTO owner_feature_flags (tenant_id, owner_id, copies) VALUES ($1, $2, $3)
       ON CONFLICT (tenant_id, owner_id) DO UPDATE SET copies = EXCLUDED.copies, updated_at = now()`,
      [tenantId, ownerId, copies],
    );
  }

  async insertForm(
    m: EntityManager,
    f: { id: string; tenantId: string; ownerId: string; usesCopies: boolean },
  ): Promise<FormRow> {
    const rows = await m.query<FormRow[]>(
      `INSERT INTO application_forms (id, tenant_id, owner_id, uses_copies) VALUES ($1, $2, $3, $4) RETURNING *`,
      [f.id, f.tenantId, f.ownerId, f.usesCopies],
    );
    return rows[0];
  }

  /** The form, if the tenant (null: any tenant, for an operator's read) has it. */
  async form(
    id: string,
    tenant: string | null,
    m: EntityManager | DataSource = this.ds,
  ): Promise<FormRow | null> {
    const rows = await m.query<FormRow[]>(
      `SELECT * FROM application_forms WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      [id, tenant],
    );
    return rows[0] ?? null;
  }

  async insertCopy(
    m: EntityManager,
    c: {
      id: string;
      applicationFormId: string;
      title: string | null;
      ownerId: string;
      schemaVersion: number;
      document: unknown;
    },
  ): Promise<CopyRow> {
    await m.query(
      `INSERT INTO copies (id, application_form_id, title, owner_id, schema_version, document, last_touched_by_user_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, now())`,
      [c.id, c.applicationFormId, c.title, c.ownerId, c.schemaVersion, JSON.stringify(c.document)],
    );
    return (await this.meta(c.id, m))!;
  }

  /**
   * A copy by its id or, for an application form id, the form's most recently touched copy;
   * only the tenant's (null: any tenant, for an operator's read).
   */
  async resolve(
    ref: string,
    tenant: string | null,
    m: EntityManager | DataSource = this.ds,
    lock = false,
  ): Promise<CopyRow | null> {
    const rows = await m.query<CopyRow[]>(
      `SELECT ${META} FROM ${FROM}
        WHERE (c.id = $1 OR c.application_form_id = $1) AND c.soft_deleted_at IS NULL
          AND ($2::text IS NULL OR f.tenant_id = $2)
        ORDER BY (c.id = $1) DESC, c.last_touched_by_user_at DESC NULLS LAST, c.created_at DESC
        LIMIT 1 ${lock ? 'FOR UPDATE OF c' : ''}`,
      [ref, tenant],
    );
    return rows[0] ?? null;
  }

  /** The form's live copy touched last by a user. */
  async latestTouched(
    formId: string,
    m: EntityManager | DataSource = this.ds,
  ): Promise<CopyRow | null> {
    const rows = await m.query<CopyRow[]>(
      `SELECT ${META} FROM ${FROM} WHERE c.application_form_id = $1 AND c.soft_deleted_at IS NULL
        ORDER BY c.last_touched_by_user_at DESC NULLS LAST, c.created_at DESC LIMIT 1`,
      [formId],
    );
    return rows[0] ?? null;
  }

  async meta(id: string, m: EntityManager | DataSource = this.ds): Promise<CopyRow | null> {
    const rows = await m.query<CopyRow[]>(`SELECT ${META} FROM ${FROM} WHERE c.id = $1`, [id]);
    return rows[0] ?? null;
  }

  async document(
    id: string,
    m: EntityManager | DataSource = this.ds,
  ): Promise<Record<string, unknown>> {
    const rows = await m.query<Array<{ document: Record<string, unknown> }>>(
      `SELECT document FROM copies WHERE id = $1`,
      [id],
    );
    return rows[0].document;
  }

  /** The question ids of the answers at these JSON paths (null where there is none). */
  async questionIdsAt(
    id: string,
    paths: string[][],
    m: EntityManager,
  ): Promise<Array<string | null>> {
    if (paths.length === 0) return [];
    const rows = await m.query<Array<{ q: string | null }>>(
      `SELECT c.document #>> ((SELECT array_agg(x ORDER BY o) FROM jsonb_array_elements_text(p.value) WITH ORDINALITY AS t(x, o))
                              || '{question_id}'::text[]) AS q
         FROM copies c, jsonb_array_elements($2::jsonb) WITH ORDINALITY AS p(value, ord)
        WHERE c.id = $1 ORDER BY p.ord`,
      [id, JSON.stringify(paths)],
    );
    return rows.map((r) => r.q);
  }

  /**
   * The patch tried on the locked row without storing it: every answer to a sensitive
   * question it would leave in plaintext (to seal before storing). Only run when the
   * database's guard has refused the plain result: it walks the whole document.
   */
  async tryPatch(
    m: EntityManager,
    id: string,
    kind: PatchKind,
    patch: unknown,
    base?: unknown,
  ): Promise<{ unsealed: UnsealedAnswer[] }> {
    const fn = PATCH_FN[kind];
    const rows = await m.query<
      Array<{ unsealed: Array<{ path: string[]; id: string; value: unknown }> }>
    >(
      `SELECT (SELECT coalesce(jsonb_agg(jsonb_build_object('path', u.path, 'id', u.answer_id, 'value', u.value)), '[]')
                 FROM unsealed_sensitive(p.doc) u) AS unsealed
         FROM copies c, LATERAL (SELECT ${fn}(coalesce($3::jsonb, c.document), $2::jsonb) AS doc) p
        WHERE c.id = $1`,
      [id, JSON.stringify(patch), base === undefined ? null : JSON.stringify(base)],
    );
    return { unsealed: rows[0].unsealed };
  }

  /** Evaluates a patch on the row without storing it (its tests fail here as they would). */
  async evaluate(m: EntityManager, id: string, kind: PatchKind, patch: unknown): Promise<void> {
    await m.query(
      `SELECT ${PATCH_FN[kind]}(document, $2::jsonb) IS NULL FROM copies WHERE id = $1`,
      [id, JSON.stringify(patch)],
    );
  }

  /**
   * Applies the patch and then the seals (a JSON Patch over the patched document) inside
   * Postgres in one statement; the document never travels. Returns the new version.
   */
  async applyPatch(
    m: EntityManager,
    id: string,
    kind: PatchKind,
    patch: unknown,
    seals: unknown[],
    upgraded?: { document: unknown; schemaVersion: number },
  ): Promise<number> {
    const params: unknown[] = [id, JSON.stringify(patch)];
    const param = (v: unknown) => `$${params.push(v)}`;
    let doc = `${PATCH_FN[kind]}(${upgraded ? `${param(JSON.stringify(upgraded.document))}::jsonb` : 'document'}, $2::jsonb)`;
    if (seals.length) doc = `jsonb_patch(${doc}, ${param(JSON.stringify(seals))}::jsonb)`;
    const schema = upgraded ? `${param(upgraded.schemaVersion)}::int` : 'schema_version';
    const [rows] = await m.query<[Array<{ version: number }>, number]>(
      `UPDATE copies SET document = ${doc}, version = version + 1, schema_version = ${schema},
              last_touched_by_user_at = now(), updated_at = now()
        WHERE id = $1 RETURNING version`,
      params,
    );
    return rows[0].version;
  }

  async storeUpgrade(
    id: string,
    version: number,
    document: unknown,
    schemaVersion: number,
  ): Promise<void> {
    await this.ds.query(
      `UPDATE copies SET document = $3::jsonb, schema_version = $4, version = version + 1, updated_at = now()
        WHERE id = $1 AND version = $2`,
      [id, version, JSON.stringify(document), schemaVersion],
    );
  }

  async softDelete(m: EntityManager, id: string): Promise<void> {
    await m.query(
      `UPDATE copies SET soft_deleted_at = now(), version = version + 1, updated_at = now() WHERE id = $1`,
      [id],
    );
  }

  list(
    applicationFormId: string,
    tenant: string | null,
    m: EntityManager | DataSource = this.ds,
  ): Promise<CopyRow[]> {
    return m.query<CopyRow[]>(
      `SELECT ${META} FROM ${FROM} WHERE c.application_form_id = $1 AND c.soft_deleted_at IS NULL
          AND ($2::text IS NULL OR f.tenant_id = $2)
        ORDER BY c.created_at, c.id`,
      [applicationFormId, tenant],
    );
  }

  /** Copies rows into a form, new ids decided by the caller, in one statement. */
  async copyInto(
    m: EntityManager,
    mapping: Array<{ from: string; to: string }>,
    formId: string,
    ownerId: string | null,
    title?: string,
  ): Promise<void> {
    await m.query(
      `INSERT INTO copies (id, application_form_id, title, owner_id, schema_version, document, last_touched_by_user_at)
       SELECT mp.to_id, $2, coalesce($4, c.title), coalesce($3, c.owner_id), c.schema_version, c.document, now()
         FROM jsonb_to_recordset($1::jsonb) AS mp(from_id uuid, to_id uuid) JOIN copies c ON c.id = mp.from_id`,
      [
        JSON.stringify(mapping.map((x) => ({ from_id: x.from, to_id: x.to }))),
        formId,
        ownerId,
        title ?? null,
      ],
    );
  }

  async acquireLease(
    m: EntityManager,
    copyId: string,
    holder: string,
    ttl: number,
  ): Promise<LeaseView | null> {
    const rows = await m.query<Array<{ token: string; expires_at: Date; holder: string }>>(
      `INSERT INTO copy_leases (copy_id, holder, token, expires_at)
       VALUES ($1, $2, nextval('lease_fencing_tokens'), now() + make_interval(secs => $3))
       ON CONFLICT (copy_id) DO UPDATE SET holder = EXCLUDED.holder, token = EXCLUDED.token, expires_at = EXCLUDED.expires_at
        WHERE copy_leases.expires_at <= now()
       RETURNING token::text, expires_at, holder`,
      [copyId, holder, ttl],
    );
    const r = rows[0];
    return r
      ? { copyId, holder: r.holder, token: r.token, expiresAt: r.expires_at.toISOString() }
      : null;
  }

  async renewLease(copyId: string, token: string, ttl: number): Promise<LeaseView | null> {
    const [rows] = await this.ds.query<
      [Array<{ token: string; expires_at: Date; holder: string }>, number]
    >(
      `UPDATE copy_leases SET expires_at = now() + make_interval(secs => $3)
        WHERE copy_id = $1 AND token = $2::bigint AND expires_at > now()
        RETURNING token::text, expires_at, holder`,
      [copyId, token, ttl],
    );
    const r = rows[0];
    return r
      ? { copyId, holder: r.holder, token: r.token, expiresAt: r.expires_at.toISOString() }
      : null;
  }

  async releaseLease(copyId: string, token: string): Promise<boolean> {
    const [, n] = await this.ds.query<[unknown[], number]>(
      `DELETE FROM copy_leases WHERE copy_id = $1 AND token = $2::bigint`,
      [copyId, token],
    );
    return n > 0;
  }

  async currentLease(copyId: string): Promise<{ holder: string; expires_at: Date } | null> {
    const rows = await this.ds.query<Array<{ holder: string; expires_at: Date }>>(
      `SELECT holder, expires_at FROM copy_leases WHERE copy_id = $1 AND expires_at > now()`,
      [copyId],
    );
    return rows[0] ?? null;
  }

  /** The sensitive question ids the database enforces: exactly those of the configuration. */
  async syncSensitiveQuestions(ids: string[]): Promise<void> {
    await this.ds.transaction(async (m) => {
      await m.query(`DELETE FROM sensitive_questions WHERE NOT (question_id = ANY($1::text[]))`, [
        ids,
      ]);
      await m.query(
        `INSERT INTO sensitive_questions (question_id) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
        [ids],
      );
    });
  }
}
