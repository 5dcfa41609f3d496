import {
  IllegalTransitionError,
  type LighthouseStatus,
  targetState,
  transition,
  type UploadState,
} from './state-machine';

const pending: UploadState = {
  status: 'pending',
  currentStep: null,
  errorStep: null,
  errorDetail: null,
};
const lh = (over: Partial<LighthouseStatus>): LighthouseStatus => ({
  requestId: '1',
  status: 'IN_PROGRESS',
  startTime: 1,
  endTime: null,
  steps: [
    { name: 'CLAIMS_EVIDENCE', status: 'NOT_STARTED' },
    { name: 'BENEFITS_GATEWAY_SERVICE', status: 'NOT_STARTED' },
    { name: 'REMOVE_FILE_BINARY', status: 'NOT_STARTED' },
  ],
  error: null,
  ...over,
});

describe('upload state machine', () => {
  it('stays pending while no downstream step has started', () => {
    expect(transition(pending, targetState(lh({})))).toBeNull();
  });

  it('moves to in progress at each downstream step', () => {
    const atEvidence = targetState(
      lh({
        steps: [
          { name: 'CLAIMS_EVIDENCE', status: 'IN_PROGRESS' },
          { name: 'BENEFITS_GATEWAY_SERVICE', status: 'NOT_STARTED' },
        ],
      }),
    );
    expect(transition(pending, atEvidence)).toEqual({
      from: 'pending',
      to: 'in_progress',
      step: 'CLAIMS_EVIDENCE',
      detail: null,
    });
    const atGateway = targetState(
      lh({
        steps: [
          { name: 'CLAIMS_EVIDENCE', status: 'SUCCESS' },
          { name: 'BENEFITS_GATEWAY_SERVICE', status: 'IN_PROGRESS' },
        ],
      }),
    );
    expect(transition(atEvidence, atGateway)).toEqual({
      from: 'in_progress',
      to: 'in_progress',
      step: 'BENEFITS_GATEWAY_SERVICE',
      detail: null,
    });
    expect(transition(atGateway, atGateway)).toBeNull();
  });

  it('takes the step after the last finished one when none is marked running', () => {
    const between = targetState(
      lh({
        steps: [
          { name: 'CLAIMS_EVIDENCE', status: 'SUCCESS' },
          { name: 'BENEFITS_GATEWAY_SERVICE', status: 'NOT_STARTED' },
        ],
      }),
    );
    expect(between).toMatchObject({
      status: 'in_progress',
      currentStep: 'BENEFITS_GATEWAY_SERVICE',
    });
  });

  it('completes, even with no end time', () => {
    expect(transition(pending, targetState(lh({ status: 'SUCCESS', endTime: null })))).toEqual({
      from: 'pending',
      to: 'completed',
      step: null,
      detail: null,
    });
  });

  it('fails with the failing step and detail', () => {
    const failed = targetState(
      lh({ status: 'FAILED', error: { detail: 'VBMS rejected the PDF', step: 'CLAIMS_EVIDENCE' } }),
    );
    expect(transition(pending, failed)).toEqual({
      from: 'pending',
      to: 'failed',
      step: 'CLAIMS_EVIDENCE',
      detail: 'VBMS rejected the PDF',
    });
    const noError = targetState(
      lh({ status: 'FAILED', steps: [{ name: 'BENEFITS_GATEWAY_SERVICE', status: 'FAILED' }] }),
    );
    expect(noError).toMatchObject({
      status: 'failed',
      errorStep: 'BENEFITS_GATEWAY_SERVICE',
      errorDetail: 'failed without detail',
    });
  });

  it('refuses illegal transitions', () => {
    const done: UploadState = {
      status: 'completed',
      currentStep: null,
      errorStep: null,
      errorDetail: null,
    };
    expect(() => transition(done, targetState(lh({ status: 'FAILED' })))).toThrow(
      IllegalTransitionError,
    );
    const running: UploadState = {
      status: 'in_progress',
      currentStep: 'CLAIMS_EVIDENCE',
      errorStep: null,
      errorDetail: null,
    };
    expect(() => transition(running, pending)).toThrow('illegal transition in_progress -> pending');
    expect(transition(done, done)).toBeNull();
  });
});
