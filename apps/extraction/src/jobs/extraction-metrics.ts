import { Inject, Injectable } from '@nestjs/common';
import { Counter, Histogram, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@app/health';

/** What an operator watches: task outcomes and time, runs and exports finished, token refreshes. */
@Injectable()
export class ExtractionMetrics {
  readonly tasks: Counter<'outcome'>;
  readonly taskSeconds: Histogram;
  readonly runs: Counter<'status'>;
  readonly exports: Counter<'dest' | 'outcome'>;
  readonly tokenRefreshes: Counter<'outcome'>;
  readonly firings: Counter;
  readonly modelTokens: Counter<'kind'>;
  readonly ocrPages: Counter;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const registers = [registry];
    this.tasks = new Counter({
      name: 'extraction_tasks_total',
      help: 'Task deliveries by outcome (completed, failed, retry, skipped)',
      labelNames: ['outcome'],
      registers,
    });
    this.taskSeconds = new Histogram({
      name: 'extraction_task_seconds',
      help: 'Time to extract one file (read, text, fields)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.runs = new Counter({
      name: 'extraction_runs_finished_total',
      help: 'Runs finished by final status',
      labelNames: ['status'],
      registers,
    });
    this.exports = new Counter({
      name: 'extraction_exports_total',
      help: 'Exports finished by destination and outcome',
      labelNames: ['dest', 'outcome'],
      registers,
    });
    this.tokenRefreshes = new Counter({
      name: 'extraction_token_refreshes_total',
      help: 'OAuth access-token refreshes by outcome',
      labelNames: ['outcome'],
      registers,
    });
    this.firings = new Counter({
      name: 'extraction_automation_firings_total',
      help: 'Automation firings (one per new matching attachment)',
      registers,
    });
    this.modelTokens = new Counter({
      name: 'extraction_model_tokens_total',
      help: "Tokens the model engine's API counted, by kind (prompt, completion)",
      labelNames: ['kind'],
      registers,
    });
    this.ocrPages = new Counter({
      name: 'extraction_ocr_pages_total',
      help: 'Scanned pages recognised by OCR',
      registers,
    });
  }
}
