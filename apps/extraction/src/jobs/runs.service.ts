import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import type { Engine, RunView } from '@app/contracts';
import { Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import { assertId, notFound, type Owner } from '../common';
import type { ExtractionConfig } from '../config';
import { checkEngine } from './job-input';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';
import { resultView, runView } from './views';

/** Runs of a job: started with a snapshot of its fields and engine, listed, read with results. */
@Injectable()
export class RunsService {
  constructor(
    private readonly repo: JobsRepository,
    private readonly jobs: JobsService,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    @Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async start(owner: Owner, jobId: string, engine?: Engine): Promise<RunView> {
    const once = checkEngine(engine) ?? undefined;
    const run = await this.repo.transaction((m) => this.startIn(m, owner, jobId, undefined, once));
    this.relay.kick();
    return run;
  }

  /**
   * Run n+1 of a job, in the caller's transaction: the fields as they are now (snapshot), the
   * engine (given, the job's, or the service default) and one task per live file (or per
   * listed file), each queued as a message for the workers.
   */
  async startIn(
    m: EntityManager,
    owner: Owner,
    jobId: string,
    fileIds?: string[],
    engine?: Engine,
  ): Promise<RunView> {
    await this.jobs.lockJob(m, owner, jobId);
    const { run, taskIds } = await this.repo.insertRun(
      m,
      jobId,
      { given: engine ?? null, fallback: this.config.EXTRACTION_ENGINE },
      fileIds ?? null,
    );
    if (run.fields_snapshot.length === 0)
      throw rpcError('validation_failed', 'the job has no fields to extract', { field: 'fields' });
    if (taskIds.length === 0)
      throw rpcError('validation_failed', 'the job has no files to extract', { field: 'files' });
    const counted = await this.repo.setTasksTotal(m, run.id, taskIds.length);
    await this.outbox.addMany(
      m,
      taskIds.map((id) => ({
        name: 'extraction.task.requested.v1' as const,
        payload: { taskId: id, runId: run.id },
      })),
    );
    this.logger.info(
      {
        jobId,
        runId: run.id,
        runNumber: run.run_number,
        tasks: taskIds.length,
        engine: run.engine,
      },
      'run started',
    );
    return runView(counted);
  }

  async list(owner: Owner, jobId: string): Promise<RunView[]> {
    await this.jobs.assertOwned(owner, jobId);
    return (await this.repo.runs(jobId)).map(runView);
  }

  async get(owner: Owner, id: unknown): Promise<RunView> {
    assertId(id, 'run');
    const row = await this.repo.run(id, owner.scope);
    if (!row) throw notFound('run');
    return runView(row);
  }

  async results(owner: Owner, id: string) {
    const run = await this.get(owner, id);
    const rows = await this.repo.results(id);
    return { run, results: rows.map((r) => resultView(r, run.fields)) };
  }
}
