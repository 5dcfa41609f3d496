/**
 * The worker side of a CpuPool task. Errors thrown in a thread lose their class on the way
 * back, so a task answers a refusal of its input (not a PDF, too large, ...) as a value.
 */
export type WorkerResult<T> = { ok: true; value: T } | { ok: false; kind: string; message: string };

/** Thrown inside a task for input it refuses; reaches the caller as WorkerRefusal(kind). */
export class RefusedInput extends Error {
  constructor(
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

/** Wraps a task so RefusedInput becomes a result; any other error stays an error. */
export function workerTask<I, O>(fn: (input: I) => Promise<O>) {
  return async (input: I): Promise<WorkerResult<O>> => {
    try {
      return { ok: true, value: await fn(input) };
    } catch (err) {
      if (err instanceof RefusedInput) return { ok: false, kind: err.kind, message: err.message };
      throw err;
    }
  };
}
