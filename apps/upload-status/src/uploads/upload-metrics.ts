import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { METRICS_REGISTRY } from '@app/health';

/** What the dashboard and the alert rules read. */
@Injectable()
export class UploadMetrics {
  readonly uploads: Gauge<'document_type' | 'status'>;
  readonly oldestOpenAge: Gauge;
  readonly stuckInProgress: Gauge<'document_type'>;
  readonly transitions: Counter<'document_type' | 'from' | 'to'>;
  readonly timeToCompletion: Histogram<'document_type'>;
  readonly pollCycleDuration: Histogram;
  readonly batchSize: Histogram;
  readonly batchDuration: Histogram<'outcome'>;
  readonly upstreamErrors: Counter<'code'>;
  readonly lastPollCycle: Gauge;
  readonly illegalTransitions: Counter<'from' | 'to'>;

  constructor(@Inject(METRICS_REGISTRY) registry: Registry) {
    const registers = [registry];
    this.uploads = new Gauge({
      name: 'platform_upload_status_uploads',
      help: 'Uploads by document type and status',
      labelNames: ['document_type', 'status'],
      registers,
    });
    this.oldestOpenAge = new Gauge({
      name: 'platform_upload_status_oldest_open_age_seconds',
      help: 'Age of the oldest upload not yet completed or failed',
      registers,
    });
    this.stuckInProgress = new Gauge({
      name: 'platform_upload_status_stuck_in_progress',
      help: 'Uploads in progress at Lighthouse for longer than IN_PROGRESS_MAX_AGE_SECONDS',
      labelNames: ['document_type'],
      registers,
    });
    this.transitions = new Counter({
      name: 'platform_upload_status_transitions_total',
      help: 'Status transitions',
      labelNames: ['document_type', 'from', 'to'],
      registers,
    });
    this.timeToCompletion = new Histogram({
      name: 'platform_upload_status_time_to_completion_seconds',
      help: 'From upload to completed',
      labelNames: ['document_type'],
      buckets: [60, 300, 900, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400],
      registers,
    });
    this.pollCycleDuration = new Histogram({
      name: 'platform_upload_status_poll_cycle_duration_seconds',
      help: 'Claiming and queueing one poll cycle',
      registers,
    });
    this.batchSize = new Histogram({
      name: 'platform_upload_status_poll_batch_size',
      help: 'Uploads per polled batch',
      buckets: [1, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    });
    this.batchDuration = new Histogram({
      name: 'platform_upload_status_poll_batch_duration_seconds',
      help: 'One batch: load, call, write',
      labelNames: ['outcome'],
      registers,
    });
    this.upstreamErrors = new Counter({
      name: 'platform_upload_status_upstream_errors_total',
      help: 'Lighthouse errors by code',
      labelNames: ['code'],
      registers,
    });
    this.lastPollCycle = new Gauge({
      name: 'platform_upload_status_last_poll_cycle_timestamp_seconds',
      help: 'When the poller last ran a cycle',
      registers,
    });
    this.illegalTransitions = new Counter({
      name: 'platform_upload_status_illegal_transitions_total',
      help: 'Refused transitions',
      labelNames: ['from', 'to'],
      registers,
    });
  }
}
