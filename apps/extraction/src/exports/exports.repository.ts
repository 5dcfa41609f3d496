import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { ExportDest, ExportFileType, ExportView, JobFieldView } from '@app/contracts';
import { RESULTS_SELECT, type ResultRow } from '../jobs/views';

export interface ExportRow {
  id: string;
  run_id: string;
  integration_account_id: string | null;
  dest_type: ExportDest;
  file_type: ExportFileType;
  status: ExportView['status'];
  options: { folderId?: string; to?: string };
  storage_key: string | null;
  file_name: string | null;
  external_id: string | null;
  error_message: string | null;
  created_at: Date;
  updated_at: Date;
}

/** An export to make: of which run, to where, as what, with which account. */
export interface NewExport {
  runId: string;
  destType: ExportDest;
  fileType: ExportFileType;
  accountId: string | null;
  options: object;
}

/**
 * The SQL of exports: made in the caller's transaction, claimed by a conditional update,
 * finished once. An automation's firing waiting on an export finishes with it.
 */
@Injectable()
export class ExportsRepository {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(fn);
  }

  async insert(m: EntityManager, e: NewExport): Promise<ExportRow> {
    const [row] = await m.query<ExportRow[]>(
      `INSERT INTO job_exports (run_id, dest_type, file_type, integration_account_id, options)
       VALUES ($1, $2, $3, $4, $5::jsonb) RETURNING *`,
      [e.runId, e.destType, e.fileType, e.accountId, JSON.stringify(e.options)],
    );
    return row;
  }

  async one(id: string, scope: string | null): Promise<ExportRow | undefined> {
    const [row] = await this.ds.query<ExportRow[]>(
      `SELECT e.* FROM job_exports e JOIN job_runs r ON r.id = e.run_id JOIN extraction_jobs j ON j.id = r.job_id
        WHERE e.id = $1 AND ($2::text IS NULL OR j.tenant_id = $2)`,
      [id, scope],
    );
    return row;
  }

  /** Claims an export with its job's name and its run's fields; undefined when it is done. */
  async claim(
    id: string,
  ): Promise<
    | (ExportRow & { job_name: string; run_number: number; fields_snapshot: JobFieldView[] })
    | undefined
  > {
    const [row] = await this.ds.query<
      Array<ExportRow & { job_name: string; run_number: number; fields_snapshot: JobFieldView[] }>
    >(
      `WITH claimed AS (
         UPDATE job_exports SET status = 'in_progress', updated_at = now()
          WHERE id = $1 AND status IN ('pending', 'in_progress') RETURNING *)
       SELECT c.*, j.name AS job_name, r.run_number, r.fields_snapshot
         FROM claimed c JOIN job_runs r ON r.id = c.run_id JOIN extraction_jobs j ON j.id = r.job_id`,
      [id],
    );
    return row;
  }

  results(runId: string): Promise<ResultRow[]> {
    return this.ds.query<ResultRow[]>(RESULTS_SELECT, [runId]);
  }

  /** Marks it completed (once), and the firing that waited on it. */
  async completed(
    m: EntityManager,
    id: string,
    f: { key: string; fileName: string; externalId: string | null },
  ): Promise<boolean> {
    const [[done]] = await m.query<[ExportRow[], number]>(
      `UPDATE job_exports SET status = 'completed', storage_key = $2, file_name = $3, external_id = $4,
              error_message = NULL, updated_at = now()
        WHERE id = $1 AND status = 'in_progress' RETURNING *`,
      [id, f.key, f.fileName, f.externalId],
    );
    if (!done) return false;
    await m.query(
      `UPDATE automation_runs SET status = 'completed', completed_at = now() WHERE export_id = $1 AND status = 'pending'`,
      [id],
    );
    return true;
  }

  /** Marks it failed (once), and the firing that waited on it. */
  async failed(m: EntityManager, id: string, message: string): Promise<boolean> {
    const [[done]] = await m.query<[ExportRow[], number]>(
      `UPDATE job_exports SET status = 'failed', error_message = $2, updated_at = now()
        WHERE id = $1 AND status = 'in_progress' RETURNING id`,
      [id, message.slice(0, 2000)],
    );
    if (!done) return false;
    await m.query(
      `UPDATE automation_runs SET status = 'failed', error_message = $2, completed_at = now()
        WHERE export_id = $1 AND status = 'pending'`,
      [id, `export failed: ${message}`.slice(0, 2000)],
    );
    return true;
  }

  async noteError(id: string, message: string): Promise<void> {
    await this.ds.query(
      `UPDATE job_exports SET error_message = $2, updated_at = now() WHERE id = $1`,
      [id, message.slice(0, 2000)],
    );
  }
}
