import type { UploadStatus } from '@app/contracts';

/** One entry of Lighthouse's bulk status answer, as it arrives (ids normalised to strings). */
export interface LighthouseStatus {
  requestId: string;
  status: 'IN_PROGRESS' | 'SUCCESS' | 'FAILED';
  startTime: number | null;
  endTime: number | null;
  steps: Array<{ name: string; status: string }>;
  error: { detail: string | null; step: string | null } | null;
}

export interface UploadState {
  status: UploadStatus;
  currentStep: string | null;
  errorStep: string | null;
  errorDetail: string | null;
}

export interface Transition {
  from: UploadStatus;
  to: UploadStatus;
  step: string | null;
  detail: string | null;
}

const ALLOWED: Record<UploadStatus, readonly UploadStatus[]> = {
  pending: ['in_progress', 'completed', 'failed'],
  in_progress: ['in_progress', 'completed', 'failed'],
  completed: [],
  failed: [],
};

export class IllegalTransitionError extends Error {
  constructor(
    readonly from: UploadStatus,
    readonly to: UploadStatus,
  ) {
    super(`illegal transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function isTerminal(s: UploadStatus): boolean {
  return ALLOWED[s].length === 0;
}

/** The state Lighthouse's answer describes: the step in progress, or the outcome. */
export function targetState(l: LighthouseStatus): UploadState {
  switch (l.status) {
    case 'SUCCESS':
      return { status: 'completed', currentStep: null, errorStep: null, errorDetail: null };
    case 'FAILED': {
      const failedStep = l.error?.step ?? l.steps.find((s) => s.status === 'FAILED')?.name ?? null;
      return {
        status: 'failed',
        currentStep: failedStep,
        errorStep: failedStep,
        errorDetail: l.error?.detail ?? 'failed without detail',
      };
    }
    case 'IN_PROGRESS': {
      const running = l.steps.find((s) => s.status === 'IN_PROGRESS');
      // Steps done but none running yet: the next one not started is where the document waits.
      const started = l.steps.some((s) => s.status !== 'NOT_STARTED');
      const step =
        running?.name ??
        (started ? (l.steps.find((s) => s.status === 'NOT_STARTED')?.name ?? null) : null);
      return step
        ? { status: 'in_progress', currentStep: step, errorStep: null, errorDetail: null }
        : { status: 'pending', currentStep: null, errorStep: null, errorDetail: null };
    }
  }
}

/**
 * The transition from `current` to `next`, or null when nothing changed. Throws on a move
 * the machine forbids (out of a terminal state, or back to pending).
 */
export function transition(current: UploadState, next: UploadState): Transition | null {
  const sameStep = current.currentStep === next.currentStep;
  if (current.status === next.status && (sameStep || next.status !== 'in_progress')) return null;
  if (!ALLOWED[current.status].includes(next.status))
    throw new IllegalTransitionError(current.status, next.status);
  return {
    from: current.status,
    to: next.status,
    step: next.status === 'failed' ? next.errorStep : next.currentStep,
    detail: next.status === 'failed' ? next.errorDetail : null,
  };
}
