/**
 * Event names `<service>.<aggregate>.<past-tense>.v1` with their payload types.
 * A publisher typed with this map cannot send the wrong payload for a name.
 * Domain issues add their events here.
 */
import type { ExtractionEvents } from './extraction';
import type { FormCopiesEvents } from './form-copies';
import type { PdfWorkflowEvents } from './pdf-workflow';
import type { ManifestCacheEvents } from './manifest-cache';
import type { UploadStatusEvents } from './upload-status';

export interface PlatformEvents
  extends
    ManifestCacheEvents,
    UploadStatusEvents,
    FormCopiesEvents,
    PdfWorkflowEvents,
    ExtractionEvents {
  /** Emitted by a service when it has applied migrations and is serving. */
  'platform.service.started.v1': { service: string; version: string; startedAt: string };
}

export type EventName = Extract<keyof PlatformEvents, string>;

/** The envelope every event travels in (body of the AMQP message). */
export interface EventEnvelope<N extends string = string, P = unknown> {
  id: string;
  name: N;
  occurredAt: string;
  payload: P;
}
