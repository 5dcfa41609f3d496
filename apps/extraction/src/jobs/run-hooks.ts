import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RunRow } from './views';

export type RunFinishedHook = (m: EntityManager, run: RunRow) => Promise<void>;

/**
 * What other parts of the service do when a run finishes, in the transaction that announces
 * it (an automation's run goes on to its export). Runs do not know who listens: listeners
 * register here, so jobs import nothing of automations.
 */
@Injectable()
export class RunHooks {
  private readonly finished: RunFinishedHook[] = [];

  onRunFinished(hook: RunFinishedHook): void {
    this.finished.push(hook);
  }

  async runFinished(m: EntityManager, run: RunRow): Promise<void> {
    for (const hook of this.finished) await hook(m, run);
  }
}
