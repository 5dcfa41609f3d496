import { existsSync } from 'node:fs';
import { Piscina } from 'piscina';
import type { WorkerResult } from './task';

/** The pool did not finish the task within its deadline; the thread running it was ended. */
export class WorkerTimeoutError extends Error {
  constructor(
    readonly pool: string,
    readonly timeoutMs: number,
  ) {
    super(`${pool}: the task did not finish within ${timeoutMs} ms and was stopped`);
    this.name = 'WorkerTimeoutError';
  }
}

/** The task needed more memory than a worker may have; the thread was ended. */
export class WorkerMemoryError extends Error {
  constructor(
    readonly pool: string,
    readonly limitMb: number,
  ) {
    super(`${pool}: the task needed more than the ${limitMb} MB a worker may use and was stopped`);
    this.name = 'WorkerMemoryError';
  }
}

/** Every thread is busy and the queue is full: the caller should come back later. */
export class WorkerBusyError extends Error {
  constructor(readonly pool: string) {
    super(`${pool}: every worker is busy and the queue is full`);
    this.name = 'WorkerBusyError';
  }
}

export interface CpuPoolOptions {
  /** Used in errors and metrics. */
  name: string;
  /** The worker module without extension: its `.js` build, or its `.ts` source in development. */
  module: string;
  threads: number;
  /** Tasks that may wait for a thread; one more is refused at once (WorkerBusyError). */
  maxQueue: number;
  /** From submission to answer, queue wait included; a running task past it is killed. */
  taskTimeoutMs: number;
  /** V8 old-generation heap of each worker thread. */
  maxHeapMb: number;
}

/** Raised on the calling side for a WorkerResult that says the input was refused. */
export class WorkerRefusal extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
    this.name = 'WorkerRefusal';
  }
}

function resolveModule(module: string): { filename: string; execArgv: string[] } {
  if (existsSync(`${module}.js`)) return { filename: `${module}.js`, execArgv: [] };
  // Running from TypeScript sources (tests, `-r @swc-node/register`): compile in the thread too.
  if (existsSync(`${module}.ts`))
    return { filename: `${module}.ts`, execArgv: ['-r', '@swc-node/register'] };
  throw new Error(`worker module ${module} not found (.js or .ts)`);
}

/**
 * CPU-bound work off the event loop that answers RPC: a bounded set of worker threads, each
 * with a heap limit, a bounded queue, and a deadline per task after which the thread running
 * it is terminated (piscina replaces it). A service stays responsive whatever one input costs.
 */
export class CpuPool {
  private readonly piscina: Piscina;

  constructor(private readonly opts: CpuPoolOptions) {
    const { filename, execArgv } = resolveModule(opts.module);
    this.piscina = new Piscina({
      filename,
      execArgv,
      minThreads: 1,
      maxThreads: opts.threads,
      maxQueue: opts.maxQueue,
      idleTimeout: 60_000,
      resourceLimits: { maxOldGenerationSizeMb: opts.maxHeapMb },
    });
  }

  /**
   * Runs one task; a refusal the worker reports is thrown as WorkerRefusal. `timeoutMs`
   * replaces the pool's deadline for this task (background work may be given longer).
   */
  async run<I, O>(task: I, transferList?: ArrayBuffer[], timeoutMs?: number): Promise<O> {
    const deadline = timeoutMs ?? this.opts.taskTimeoutMs;
    const signal = AbortSignal.timeout(deadline);
    let result: WorkerResult<O>;
    try {
      result = (await this.piscina.run(task, {
        signal,
        ...(transferList ? { transferList } : {}),
      })) as WorkerResult<O>;
    } catch (err) {
      throw this.mapError(err, signal, deadline);
    }
    if (!result.ok) throw new WorkerRefusal(result.kind, result.message);
    return result.value;
  }

  /** Tasks waiting for a thread. */
  get queued(): number {
    return this.piscina.queueSize;
  }

  async close(): Promise<void> {
    await this.piscina.destroy();
  }

  private mapError(err: unknown, signal: AbortSignal, deadline: number): Error {
    const e = err as NodeJS.ErrnoException;
    if (signal.aborted || e?.name === 'AbortError')
      return new WorkerTimeoutError(this.opts.name, deadline);
    if (e?.message === 'Task queue is at limit') return new WorkerBusyError(this.opts.name);
    if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY')
      return new WorkerMemoryError(this.opts.name, this.opts.maxHeapMb);
    return err instanceof Error ? err : new Error(String(err));
  }
}

/** Whether a pool error says the input itself is the problem (the same task would fail again). */
export function isPermanentPoolError(err: unknown): boolean {
  return (
    err instanceof WorkerRefusal ||
    err instanceof WorkerTimeoutError ||
    err instanceof WorkerMemoryError
  );
}
