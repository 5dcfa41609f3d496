import type {
  Engine,
  JobFieldView,
  JobView,
  ModelUsage,
  ResultView,
  RunView,
  SourceFileView,
} from '@app/contracts';
import { iso } from '../common';

type Time = Date | string | null;

export interface RunRow {
  id: string;
  job_id: string;
  run_number: number;
  status: RunView['status'];
  engine: Engine;
  default_currency: string | null;
  tasks_total: number;
  tasks_completed: number;
  tasks_failed: number;
  fields_snapshot: JobFieldView[];
  automation_id?: string | null;
  created_at: Time;
  started_at: Time;
  completed_at: Time;
}

export function runView(r: RunRow): RunView {
  return {
    id: r.id,
    jobId: r.job_id,
    runNumber: r.run_number,
    status: r.status,
    engine: r.engine,
    tasksTotal: r.tasks_total,
    tasksCompleted: r.tasks_completed,
    tasksFailed: r.tasks_failed,
    fields: r.fields_snapshot,
    automationId: r.automation_id ?? null,
    createdAt: iso(r.created_at)!,
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
  };
}

/** A run with the automation that fired it (when one did). */
export const RUN_SELECT = `SELECT r.*, (SELECT ar.automation_id FROM automation_runs ar WHERE ar.run_id = r.id LIMIT 1) AS automation_id
  FROM job_runs r`;

export interface JobRow {
  id: string;
  name: string;
  template_id: string | null;
  engine: Engine | null;
  default_currency: string | null;
  fields: JobFieldView[];
  file_count: number;
  last_run: RunRow | null;
  created_at: Date;
  updated_at: Date;
}

/** A job with its fields, live file count and latest run, in one statement. */
export const JOB_SELECT = `
  SELECT j.id, j.name, j.template_id, j.engine, j.default_currency, j.created_at, j.updated_at,
    (SELECT coalesce(jsonb_agg(jsonb_build_object('name', f.field_name, 'dataType', f.data_type_id,
              'description', f.description, 'displayOrder', f.display_order) ORDER BY f.display_order), '[]'::jsonb)
       FROM job_fields f WHERE f.job_id = j.id) AS fields,
    (SELECT count(*)::int FROM source_files s WHERE s.job_id = j.id AND s.removed_at IS NULL) AS file_count,
    (SELECT to_jsonb(r) FROM job_runs r WHERE r.job_id = j.id ORDER BY r.run_number DESC LIMIT 1) AS last_run
  FROM extraction_jobs j`;

export function jobView(r: JobRow): JobView {
  return {
    id: r.id,
    name: r.name,
    templateId: r.template_id,
    engine: r.engine,
    defaultCurrency: r.default_currency,
    fields: r.fields,
    fileCount: r.file_count,
    lastRun: r.last_run ? runView(r.last_run) : null,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

export interface FileRow {
  id: string;
  job_id: string;
  original_filename: string;
  storage_key: string;
  file_type: string;
  file_size: string | number;
  content_hash: string;
  source_type: SourceFileView['sourceType'];
  external_id: string | null;
  uploaded_at: Date;
}

export function fileView(r: FileRow): SourceFileView {
  return {
    id: r.id,
    jobId: r.job_id,
    fileName: r.original_filename,
    fileType: r.file_type,
    fileSize: Number(r.file_size),
    contentHash: r.content_hash,
    sourceType: r.source_type,
    externalId: r.external_id,
    uploadedAt: r.uploaded_at.toISOString(),
  };
}

export interface ResultRow {
  task_id: string;
  source_file_id: string;
  original_filename: string;
  source_type: ResultView['sourceType'];
  status: ResultView['status'];
  attempts: number;
  error_message: string | null;
  extracted_data: ResultView['data'];
  warnings: string[];
  usage: ModelUsage | null;
  processed_at: Date | null;
}

/** Every task of a run with its file and result, in file order, in one statement. */
export const RESULTS_SELECT = `
  SELECT t.id AS task_id, t.source_file_id, s.original_filename, s.source_type, t.status, t.attempts,
         t.error_message, x.extracted_data, t.warnings, t.usage, t.processed_at
    FROM extraction_tasks t
    JOIN source_files s ON s.id = t.source_file_id
    LEFT JOIN extraction_results x ON x.task_id = t.id
   WHERE t.run_id = $1
   ORDER BY s.uploaded_at, s.id`;

/** A result, its values in the order of the fields the run ran with (jsonb keeps no order). */
export function resultView(r: ResultRow, fields: JobFieldView[]): ResultView {
  const data = r.extracted_data
    ? Object.fromEntries(
        fields
          .filter((f) => f.name in r.extracted_data!)
          .map((f) => [f.name, r.extracted_data![f.name]]),
      )
    : null;
  return {
    taskId: r.task_id,
    sourceFileId: r.source_file_id,
    fileName: r.original_filename,
    sourceType: r.source_type,
    status: r.status,
    attempts: r.attempts,
    error: r.error_message,
    data,
    warnings: r.warnings ?? [],
    usage: r.usage ?? null,
    processedAt: iso(r.processed_at),
  };
}
