import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { DataTypeId, Engine, JobFieldInput, SourceFileView } from '@app/contracts';
import type { Owner } from '../common';
import {
  type FileRow,
  JOB_SELECT,
  type JobRow,
  RESULTS_SELECT,
  type ResultRow,
  RUN_SELECT,
  type RunRow,
} from './views';

export interface TemplateRow {
  id: string;
  name: string;
  fields: JobFieldInput[];
  created_at: Date;
  updated_at: Date;
}

export interface NewFile {
  fileName: string;
  storageKey: string;
  fileType: string;
  size: number;
  hash: string;
  sourceType: SourceFileView['sourceType'];
  externalId: string | null;
}

/**
 * The SQL of jobs, their fields, templates, files and runs. `scope` is the caller's tenant,
 * or null for a platform admin reading across tenants; writes always name the tenant.
 */
@Injectable()
export class JobsRepository {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(fn);
  }

  dataTypes() {
    return this.ds.query<Array<{ id: DataTypeId; displayName: string; description: string }>>(
      `SELECT id, display_name AS "displayName", description FROM data_types ORDER BY id`,
    );
  }

  // --- jobs and fields ---

  async insertJob(
    m: EntityManager,
    owner: Owner,
    job: {
      name: string;
      templateId: string | null;
      engine: Engine | null;
      defaultCurrency: string | null;
    },
  ): Promise<string> {
    const [row] = await m.query<Array<{ id: string }>>(
      `INSERT INTO extraction_jobs (user_id, name, template_id, tenant_id, engine, default_currency)
       VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
      [owner.userId, job.name, job.templateId, owner.tenantId, job.engine, job.defaultCurrency],
    );
    return row.id;
  }

  /** Sets what is given (undefined leaves a setting as it is; null clears it). */
  async updateJob(
    m: EntityManager,
    id: string,
    set: { engine?: Engine | null; defaultCurrency?: string | null },
  ): Promise<void> {
    await m.query(
      `UPDATE extraction_jobs
          SET engine = CASE WHEN $2 THEN $3 ELSE engine END,
              default_currency = CASE WHEN $4 THEN $5 ELSE default_currency END,
              updated_at = now()
        WHERE id = $1`,
      [
        id,
        set.engine !== undefined,
        set.engine ?? null,
        set.defaultCurrency !== undefined,
        set.defaultCurrency ?? null,
      ],
    );
  }

  async writeFields(m: EntityManager, jobId: string, fields: JobFieldInput[]): Promise<void> {
    const rows = fields.map((f, i) => ({
      name: f.name,
      dataType: f.dataType,
      description: f.description ?? null,
      ord: i,
    }));
    await m.query(
      `INSERT INTO job_fields (job_id, field_name, data_type_id, description, display_order)
       SELECT $1, f.name, f."dataType", f.description, f.ord
         FROM jsonb_to_recordset($2::jsonb) AS f(name text, "dataType" text, description text, ord int)`,
      [jobId, JSON.stringify(rows)],
    );
  }

  async replaceFields(m: EntityManager, jobId: string, fields: JobFieldInput[]): Promise<void> {
    await m.query(`DELETE FROM job_fields WHERE job_id = $1`, [jobId]);
    await this.writeFields(m, jobId, fields);
    await this.touchJob(m, jobId);
  }

  async touchJob(m: EntityManager, jobId: string): Promise<void> {
    await m.query(`UPDATE extraction_jobs SET updated_at = now() WHERE id = $1`, [jobId]);
  }

  async job(id: string, scope: string | null): Promise<JobRow | undefined> {
    const [row] = await this.ds.query<JobRow[]>(
      `${JOB_SELECT} WHERE j.id = $1 AND ($2::text IS NULL OR j.tenant_id = $2)`,
      [id, scope],
    );
    return row;
  }

  /** A page of jobs, newest first, after the (created_at, id) cursor when given. */
  jobs(scope: string | null, after: [string, string] | null, limit: number): Promise<JobRow[]> {
    return this.ds.query<JobRow[]>(
      `${JOB_SELECT} WHERE ($1::text IS NULL OR j.tenant_id = $1) AND ($2::timestamptz IS NULL OR (j.created_at, j.id) < ($2, $3::uuid))
        ORDER BY j.created_at DESC, j.id DESC LIMIT $4`,
      [scope, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
  }

  async jobExists(id: string, scope: string | null): Promise<boolean> {
    const [j] = await this.ds.query<unknown[]>(
      `SELECT 1 FROM extraction_jobs WHERE id = $1 AND ($2::text IS NULL OR tenant_id = $2)`,
      [id, scope],
    );
    return !!j;
  }

  /** Locks the tenant's job row (serialises run numbers and file adds). */
  async lockJob(m: EntityManager, id: string, tenantId: string): Promise<boolean> {
    const [j] = await m.query<unknown[]>(
      `SELECT id FROM extraction_jobs WHERE id = $1 AND tenant_id = $2 FOR UPDATE`,
      [id, tenantId],
    );
    return !!j;
  }

  // --- templates ---

  async templateFields(
    m: EntityManager,
    id: string,
    tenantId: string,
  ): Promise<JobFieldInput[] | null> {
    const [t] = await m.query<Array<{ fields: JobFieldInput[] }>>(
      `SELECT fields FROM templates WHERE id = $1 AND tenant_id = $2`,
      [id, tenantId],
    );
    return t?.fields ?? null;
  }

  async insertTemplate(
    m: EntityManager,
    owner: Owner,
    name: string,
    fields: JobFieldInput[],
  ): Promise<TemplateRow> {
    const [t] = await m.query<TemplateRow[]>(
      `INSERT INTO templates (user_id, name, fields, tenant_id) VALUES ($1, $2, $3::jsonb, $4) RETURNING *`,
      [owner.userId, name, JSON.stringify(fields), owner.tenantId],
    );
    return t;
  }

  templates(scope: string | null): Promise<TemplateRow[]> {
    return this.ds.query<TemplateRow[]>(
      `SELECT * FROM templates WHERE ($1::text IS NULL OR tenant_id = $1) ORDER BY created_at DESC, id DESC`,
      [scope],
    );
  }

  // --- files ---

  async liveFileByHash(m: EntityManager, jobId: string, hash: string) {
    const [same] = await m.query<FileRow[]>(
      `SELECT * FROM source_files WHERE job_id = $1 AND content_hash = $2 AND removed_at IS NULL LIMIT 1`,
      [jobId, hash],
    );
    return same as FileRow | undefined;
  }

  async insertFile(m: EntityManager, jobId: string, f: NewFile): Promise<FileRow> {
    const [row] = await m.query<FileRow[]>(
      `INSERT INTO source_files (job_id, original_filename, storage_key, file_type, file_size, content_hash, source_type, external_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *`,
      [
        jobId,
        f.fileName.slice(0, 500),
        f.storageKey,
        f.fileType,
        f.size,
        f.hash,
        f.sourceType,
        f.externalId,
      ],
    );
    return row;
  }

  liveFiles(jobId: string): Promise<FileRow[]> {
    return this.ds.query<FileRow[]>(
      `SELECT * FROM source_files WHERE job_id = $1 AND removed_at IS NULL ORDER BY uploaded_at, id`,
      [jobId],
    );
  }

  async removeFile(m: EntityManager, jobId: string, fileId: string): Promise<boolean> {
    const r = await m.query<unknown[][]>(
      `UPDATE source_files SET removed_at = now() WHERE id = $1 AND job_id = $2 AND removed_at IS NULL RETURNING id`,
      [fileId, jobId],
    );
    return r[0].length > 0;
  }

  // --- runs ---

  /**
   * Run n+1 of a job with its fields as they are now (a snapshot), the engine it runs with
   * (`engine`, else the job's, else `fallback`) and the job's default currency; then one
   * task per live file (or per listed file).
   */
  async insertRun(
    m: EntityManager,
    jobId: string,
    engine: { given: Engine | null; fallback: Engine },
    fileIds: string[] | null,
  ): Promise<{ run: RunRow; taskIds: string[] }> {
    const [run] = await m.query<RunRow[]>(
      `INSERT INTO job_runs (job_id, run_number, fields_snapshot, engine, default_currency)
       SELECT j.id, coalesce((SELECT max(run_number) FROM job_runs WHERE job_id = $1), 0) + 1,
              (SELECT coalesce(jsonb_agg(jsonb_build_object('name', field_name, 'dataType', data_type_id,
                        'description', description, 'displayOrder', display_order) ORDER BY display_order), '[]'::jsonb)
                 FROM job_fields WHERE job_id = $1),
              coalesce($2, j.engine, $3), j.default_currency
         FROM extraction_jobs j WHERE j.id = $1
       RETURNING *`,
      [jobId, engine.given, engine.fallback],
    );
    if (run.fields_snapshot.length === 0) return { run, taskIds: [] };
    const tasks = await m.query<Array<{ id: string }>>(
      `INSERT INTO extraction_tasks (job_id, run_id, source_file_id, status)
       SELECT $1, $2, s.id, 'pending' FROM source_files s
        WHERE s.job_id = $1 AND s.removed_at IS NULL AND ($3::uuid[] IS NULL OR s.id = ANY($3))
        ORDER BY s.uploaded_at, s.id
       RETURNING id`,
      [jobId, run.id, fileIds],
    );
    return { run, taskIds: tasks.map((t) => t.id) };
  }

  async setTasksTotal(m: EntityManager, runId: string, total: number): Promise<RunRow> {
    const [[counted]] = await m.query<[RunRow[], number]>(
      `UPDATE job_runs SET tasks_total = $2 WHERE id = $1 RETURNING *`,
      [runId, total],
    );
    return counted;
  }

  runs(jobId: string): Promise<RunRow[]> {
    return this.ds.query<RunRow[]>(`${RUN_SELECT} WHERE r.job_id = $1 ORDER BY r.run_number DESC`, [
      jobId,
    ]);
  }

  async run(id: string, scope: string | null): Promise<RunRow | undefined> {
    const [row] = await this.ds.query<RunRow[]>(
      `${RUN_SELECT} JOIN extraction_jobs j ON j.id = r.job_id WHERE r.id = $1 AND ($2::text IS NULL OR j.tenant_id = $2)`,
      [id, scope],
    );
    return row;
  }

  results(runId: string): Promise<ResultRow[]> {
    return this.ds.query<ResultRow[]>(RESULTS_SELECT, [runId]);
  }
}
