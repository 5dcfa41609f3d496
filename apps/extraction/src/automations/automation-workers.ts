import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { EventBus } from '@app/messaging';
import { AccountUnusableError } from '../accounts/accounts.service';
import { ExportsService } from '../exports/exports.service';
import { RunHooks } from '../jobs/run-hooks';
import type { RunRow } from '../jobs/views';
import { AutomationsRepository } from './automations.repository';
import { GmailSync } from './gmail-sync';

/**
 * The automations' work: watch renewals and mailbox syncs from the work queue, and, when a
 * run an automation fired finishes, its export (a hook on runs: jobs know nothing of this).
 */
@Injectable()
export class AutomationWorkers implements OnModuleInit {
  constructor(
    private readonly bus: EventBus,
    private readonly gmail: GmailSync,
    private readonly exports: ExportsService,
    private readonly hooks: RunHooks,
    private readonly repo: AutomationsRepository,
  ) {}

  onModuleInit(): void {
    this.bus.on('extraction.watch.renewal.requested.v1', async (p) => {
      try {
        await this.gmail.renewWatch(p.accountId);
      } catch (err) {
        // A disconnected account needs no watch; anything else is retried by the bus.
        if (!(err instanceof AccountUnusableError)) throw err;
      }
    });
    this.bus.on('extraction.automation.sync.requested.v1', async (p) => {
      await this.gmail.sync(p.automationId, p.historyId);
    });
    this.hooks.onRunFinished((m, run) => this.onRunFinished(m, run));
  }

  /** Called in the transaction that finished a run: an automation's run goes on to its export. */
  async onRunFinished(m: EntityManager, run: RunRow): Promise<void> {
    for (const p of await this.repo.waitingFor(m, run.id)) {
      if (run.status === 'failed') {
        await this.repo.firingFailed(m, p.id, 'the run extracted nothing');
        continue;
      }
      const e = p.export_config;
      const row = await this.exports.createIn(m, {
        runId: run.id,
        destType: e.dest,
        fileType: e.fileType,
        accountId: e.dest === 'download' ? null : p.integration_account_id,
        options: { folderId: e.folderId, to: e.to },
      });
      await this.repo.firingExported(m, p.id, row.id);
    }
  }
}
