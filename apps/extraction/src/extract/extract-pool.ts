import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { join } from 'node:path';
import type { Engine, JobFieldView } from '@app/contracts';
import { SERVICE_CONFIG } from '@app/service-kit';
import { CpuPool } from '@app/workers';
import type { ExtractionConfig } from '../config';
import type { ExtractOutcome, ExtractTask } from './extract.thread';
import type { OcrLanguage } from './ocr';

/**
 * Text extraction in worker threads, each file within a deadline, a heap limit and a cap
 * on what its streams inflate to and how many pages it has. Every refusal but a full queue
 * is permanent: the same file would be refused again.
 */
@Injectable()
export class ExtractPool implements OnModuleDestroy {
  private readonly pool: CpuPool;

  constructor(@Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig) {
    this.pool = new CpuPool({
      name: 'extraction',
      module: join(__dirname, 'extract.thread'),
      threads: config.EXTRACT_WORKER_THREADS,
      maxQueue: config.EXTRACT_WORKER_QUEUE,
      taskTimeoutMs: config.EXTRACT_TASK_TIMEOUT_MS,
      maxHeapMb: config.EXTRACT_WORKER_HEAP_MB,
    });
  }

  extract(
    pdf: Buffer,
    fields: JobFieldView[],
    run: { engine: Engine; defaultCurrency: string | null },
  ): Promise<ExtractOutcome> {
    const languages = this.config.OCR_LANGUAGES.split('+').filter(Boolean) as OcrLanguage[];
    return this.pool.run<ExtractTask, ExtractOutcome>({
      pdf,
      fields,
      limits: {
        maxPages: this.config.MAX_PDF_PAGES,
        maxDecompressedBytes: this.config.MAX_DECOMPRESSED_BYTES,
      },
      engine: run.engine,
      defaultCurrency: run.defaultCurrency,
      pageImages: this.config.MODEL_PAGE_IMAGES,
      ocr:
        languages.length && this.config.OCR_MAX_PAGES > 0
          ? { languages, maxPages: this.config.OCR_MAX_PAGES }
          : null,
    });
  }

  async onModuleDestroy(): Promise<void> {
    await this.pool.close();
  }
}
