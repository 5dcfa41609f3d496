import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { Engine, ExtractedValue, JobFieldView, ModelUsage } from '@app/contracts';
import type { RunRow } from './views';

/** A task a worker holds: its file, and what its run extracts with. */
export interface ClaimedTask {
  id: string;
  run_id: string;
  attempts: number;
  storage_key: string;
  fields_snapshot: JobFieldView[];
  engine: Engine;
  default_currency: string | null;
}

/**
 * The SQL of the work queue's tasks: claimed and finished by conditional updates that move
 * the run's counters in the same statement, so a task delivered twice counts once however
 * many workers run.
 */
@Injectable()
export class TasksRepository {
  constructor(@InjectDataSource() private readonly ds: DataSource) {}

  transaction<T>(fn: (m: EntityManager) => Promise<T>): Promise<T> {
    return this.ds.transaction(fn);
  }

  /** Claims a task (and starts its run); undefined when it is finished already. */
  async claim(taskId: string): Promise<ClaimedTask | undefined> {
    const [task] = await this.ds.query<ClaimedTask[]>(
      `WITH claimed AS (
         UPDATE extraction_tasks SET status = 'processing', attempts = attempts + 1, updated_at = now()
          WHERE id = $1 AND status IN ('pending', 'processing')
          RETURNING id, run_id, source_file_id, attempts),
       started AS (
         UPDATE job_runs SET status = 'in_progress', started_at = coalesce(started_at, now())
          WHERE id = (SELECT run_id FROM claimed) AND status = 'pending' RETURNING id)
       SELECT c.id, c.run_id, c.attempts, s.storage_key, r.fields_snapshot, r.engine, r.default_currency
         FROM claimed c JOIN source_files s ON s.id = c.source_file_id JOIN job_runs r ON r.id = c.run_id`,
      [taskId],
    );
    return task;
  }

  /** The last attempt's error, kept while the task waits for its next. */
  async noteError(taskId: string, message: string): Promise<void> {
    await this.ds.query(
      `UPDATE extraction_tasks SET error_message = $2, updated_at = now() WHERE id = $1 AND status = 'processing'`,
      [taskId, message.slice(0, 2000)],
    );
  }

  /**
   * Finishes a task in one statement: its status, its result and the run's counters (and the
   * run's status when it was the last). One statement, not a transaction, because every task
   * of a run updates the same run row: its lock is held only while Postgres runs the
   * statement, never across a round trip to a busy worker, so workers do not queue on it.
   * Returns the run when this task moved it (undefined for a second delivery).
   */
  async finish(
    taskId: string,
    t: {
      status: 'completed' | 'failed';
      error: string | null;
      data: Record<string, ExtractedValue> | null;
      warnings: string[] | null;
      usage: ModelUsage | null;
    },
  ): Promise<RunRow | undefined> {
    const ok = t.status === 'completed';
    const [run] = await this.ds.query<RunRow[]>(
      `WITH done AS (
         UPDATE extraction_tasks SET status = $2, error_message = $3, processed_at = now(), updated_at = now(),
                warnings = coalesce($6::jsonb, '[]'::jsonb), usage = $7::jsonb
          WHERE id = $1 AND status = 'processing'
          RETURNING id, job_id, run_id, source_file_id),
       result AS (
         INSERT INTO extraction_results (job_id, run_id, task_id, source_file_id, extracted_data)
         SELECT job_id, run_id, id, source_file_id, $4::jsonb FROM done WHERE $4::jsonb IS NOT NULL
         RETURNING 1),
       counted AS (
         UPDATE job_runs r
            SET tasks_completed = r.tasks_completed + $5::int,
                tasks_failed = r.tasks_failed + (1 - $5::int),
                status = CASE
                  WHEN r.tasks_completed + r.tasks_failed + 1 < r.tasks_total THEN 'in_progress'
                  WHEN r.tasks_failed + (1 - $5::int) = 0 THEN 'completed'
                  WHEN r.tasks_completed + $5::int = 0 THEN 'failed'
                  ELSE 'partially_completed' END,
                completed_at = CASE WHEN r.tasks_completed + r.tasks_failed + 1 = r.tasks_total THEN now() END
           FROM done WHERE r.id = done.run_id
         RETURNING r.*)
       SELECT * FROM counted`,
      [
        taskId,
        t.status,
        t.error?.slice(0, 2000) ?? null,
        ok && t.data ? JSON.stringify(t.data) : null,
        ok ? 1 : 0,
        t.warnings ? JSON.stringify(t.warnings) : null,
        t.usage ? JSON.stringify(t.usage) : null,
      ],
    );
    return run;
  }

  /** Marks a finished run announced, once; undefined when it was already (or is not done). */
  async markAnnounced(m: EntityManager, runId: string): Promise<RunRow | undefined> {
    const [[r]] = await m.query<[RunRow[], number]>(
      `UPDATE job_runs SET announced_at = now()
        WHERE id = $1 AND completed_at IS NOT NULL AND announced_at IS NULL RETURNING *`,
      [runId],
    );
    return r;
  }
}
