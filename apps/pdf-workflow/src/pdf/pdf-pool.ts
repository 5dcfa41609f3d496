import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { join } from 'node:path';
import { rpcError } from '@app/messaging';
import { SERVICE_CONFIG } from '@app/service-kit';
import {
  CpuPool,
  WorkerBusyError,
  WorkerMemoryError,
  WorkerRefusal,
  WorkerTimeoutError,
} from '@app/workers';
import type { PdfWorkflowConfig } from '../config';
import type { FormField } from './pdf-forms';
import type { PdfTask } from './pdf.thread';
import type { SealKey } from './seal';

/**
 * PDF reading and filling in worker threads: a fill that takes long (pdf-lib's multiline
 * layout grows with the cube of the text) never holds up another RPC of this service, and
 * one past PDF_TASK_TIMEOUT_MS is stopped with a clear answer.
 */
@Injectable()
export class PdfPool implements OnModuleDestroy {
  private readonly pool: CpuPool;

  constructor(@Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig) {
    this.pool = new CpuPool({
      name: 'pdf',
      module: join(__dirname, 'pdf.thread'),
      threads: config.PDF_WORKER_THREADS,
      maxQueue: config.PDF_WORKER_QUEUE,
      taskTimeoutMs: config.PDF_TASK_TIMEOUT_MS,
      maxHeapMb: config.PDF_WORKER_HEAP_MB,
    });
  }

  async fields(pdf: Buffer): Promise<FormField[]> {
    return this.run<FormField[]>({ op: 'fields', pdf });
  }

  /** Per answer, null if it can be drawn in its field, else why not (fonts, box size). */
  async check(answers: Array<{ field: FormField; value: unknown }>): Promise<Array<string | null>> {
    if (answers.length === 0) return [];
    return this.run<Array<string | null>>({ op: 'check', answers });
  }

  async fill(
    pdf: Buffer,
    values: Record<string, unknown>,
    flatten: boolean,
    seal?: SealKey,
  ): Promise<Buffer> {
    // Filling runs after the step, in the background: it has its own, longer deadline.
    return Buffer.from(
      await this.run<Uint8Array>(
        { op: 'fill', pdf, values, flatten, ...(seal ? { seal } : {}) },
        this.config.RENDER_TIMEOUT_MS,
      ),
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close();
  }

  private async run<O>(task: PdfTask, timeoutMs?: number): Promise<O> {
    try {
      return await this.pool.run<PdfTask, O>(task, undefined, timeoutMs);
    } catch (err) {
      if (err instanceof WorkerRefusal)
        throw rpcError(
          err.kind === 'unusable_pdf' ? 'unprocessable' : 'validation_failed',
          err.message,
          {
            field: 'pdf',
          },
        );
      if (err instanceof WorkerTimeoutError)
        throw rpcError(
          'unprocessable',
          `the PDF could not be processed within ${err.timeoutMs} ms`,
        );
      if (err instanceof WorkerMemoryError)
        throw rpcError('unprocessable', 'the PDF needs more memory to process than is allowed');
      if (err instanceof WorkerBusyError)
        throw rpcError('unavailable', 'every PDF worker is busy; try again shortly');
      throw err;
    }
  }
}
