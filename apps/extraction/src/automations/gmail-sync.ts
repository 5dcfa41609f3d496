import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { RpcErrorBody } from '@app/contracts';
import { RpcException } from '@nestjs/microservices';
import { Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import { AccountsService, AccountUnusableError } from '../accounts/accounts.service';
import { ownerOfRow } from '../common';
import type { ExtractionConfig } from '../config';
import { GoogleApiError, GoogleClient, type GmailPart } from '../google/google.client';
import { ExtractionMetrics } from '../jobs/extraction-metrics';
import { type Fetched, FileSourcesService, flattenParts } from '../jobs/file-sources.service';
import { RunsService } from '../jobs/runs.service';
import type { AutomationRow } from './automation-rows';
import { AutomationsRepository } from './automations.repository';

interface Candidate {
  messageId: string;
  attachmentId: string;
  /** The message part holding it (read once, with the message). */
  part: Pick<GmailPart, 'filename' | 'mimeType'>;
}

/**
 * Automations on Gmail's own model: a watch makes Gmail push `{emailAddress, historyId}`;
 * each automation keeps a history cursor and reads what was added since; a cursor too old
 * (Gmail answers 404) gets a bounded full re-sync. Each new matching attachment fires once
 * (the unique constraint on automation, message and attachment decides, not this code):
 * a run of the automation's job over that file, then its export.
 */
@Injectable()
export class GmailSync {
  constructor(
    private readonly repo: AutomationsRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly files: FileSourcesService,
    private readonly runs: RunsService,
    private readonly accounts: AccountsService,
    private readonly google: GoogleClient,
    private readonly metrics: ExtractionMetrics,
    @Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** A new automation starts from now (mail already there does not fire) and Gmail pushes. */
  async start(a: Pick<AutomationRow, 'id' | 'integration_account_id'>): Promise<void> {
    await this.accounts.withToken(a.integration_account_id, async (token) => {
      const profile = await this.google.gmailProfile(token);
      await this.repo.advanceCursor(a.id, profile.historyId);
    });
    await this.renewWatch(a.integration_account_id);
  }

  /** A Gmail push: queue a sync of every enabled automation on that mailbox. */
  async push(emailAddress: string, historyId: string): Promise<{ accepted: number }> {
    if (typeof emailAddress !== 'string' || !emailAddress.includes('@'))
      throw rpcError('validation_failed', 'emailAddress is missing from the notification', {
        field: 'emailAddress',
      });
    const accepted = await this.repo.transaction(async (m) => {
      const ids = await this.repo.onMailbox(m, emailAddress);
      await this.outbox.addMany(
        m,
        ids.map((id) => ({
          name: 'extraction.automation.sync.requested.v1' as const,
          payload: { automationId: id, historyId: String(historyId) },
        })),
      );
      return ids.length;
    });
    if (accepted) this.relay.kick();
    return { accepted };
  }

  /** Reads what the mailbox added since the cursor and fires for each new matching attachment. */
  async sync(
    automationId: string,
    pushedHistoryId?: string,
  ): Promise<{ fired: number; resynced: boolean }> {
    const a = await this.repo.syncable(automationId);
    if (!a) return { fired: 0, resynced: false };
    // A push about changes the cursor is already past (a redelivery, say) needs no calls.
    if (pushedHistoryId && a.history_cursor && /^\d+$/.test(pushedHistoryId))
      if (BigInt(pushedHistoryId) <= BigInt(a.history_cursor)) return { fired: 0, resynced: false };
    try {
      return await this.accounts.withToken(a.integration_account_id, (token) =>
        this.syncWith(token, a),
      );
    } catch (err) {
      if (err instanceof AccountUnusableError) {
        this.logger.warn(
          { automationId, err: err.message },
          'automation cannot sync until its account reconnects',
        );
        return { fired: 0, resynced: false };
      }
      throw err;
    }
  }

  private async syncWith(
    token: string,
    a: AutomationRow,
  ): Promise<{ fired: number; resynced: boolean }> {
    await this.repo.markSynced(a.id);
    if (!a.history_cursor) {
      const profile = await this.google.gmailProfile(token);
      await this.repo.advanceCursor(a.id, profile.historyId);
      return { fired: 0, resynced: false };
    }
    let added: string[] = [];
    let cursor: string | null = null;
    let resynced = false;
    for (let page: string | undefined; ;) {
      const h = await this.google.gmailHistory(token, a.history_cursor, page);
      if (!h) break;
      cursor = h.historyId;
      for (const e of h.history ?? [])
        for (const x of e.messagesAdded ?? []) added.push(x.message.id);
      if (!h.nextPageToken) break;
      page = h.nextPageToken;
    }
    let matching: Set<string>;
    if (cursor === null) {
      // The cursor is older than Gmail keeps history: look back a bounded window instead.
      // The profile is read first, so mail arriving during the re-sync is read next time.
      resynced = true;
      cursor = (await this.google.gmailProfile(token)).historyId;
      added = await this.listIds(
        token,
        `${a.trigger_config.query} newer_than:${this.config.GMAIL_RESYNC_DAYS}d`,
      );
      matching = new Set(added);
      this.logger.warn(
        { automationId: a.id, messages: added.length },
        'history cursor too old; re-synced',
      );
    } else if (added.length === 0) {
      matching = new Set();
    } else {
      // Gmail applies the automation's search itself; what history added and it matches fires.
      const hits = new Set(await this.listIds(token, a.trigger_config.query));
      matching = new Set(added.filter((id) => hits.has(id)));
    }
    const candidates: Candidate[] = [];
    const wanted = new Set(a.trigger_config.mimeTypes.map((t) => t.toLowerCase()));
    for (const id of matching) {
      const msg = await this.google.gmailMessage(token, id);
      for (const p of flattenParts(msg.payload))
        if (p.body.attachmentId && p.filename && wanted.has(p.mimeType.toLowerCase()))
          candidates.push({ messageId: id, attachmentId: p.body.attachmentId, part: p });
    }
    const fired = await this.fire(token, a, candidates);
    await this.repo.advanceCursor(a.id, cursor);
    return { fired, resynced };
  }

  private async listIds(token: string, q: string): Promise<string[]> {
    const ids: string[] = [];
    for (let page: string | undefined; ids.length < this.config.GMAIL_RESYNC_MAX_MESSAGES;) {
      const r = await this.google.gmailList(
        token,
        q,
        Math.min(500, this.config.GMAIL_RESYNC_MAX_MESSAGES),
        page,
      );
      ids.push(...(r.messages ?? []).map((x) => x.id));
      if (!r.nextPageToken) break;
      page = r.nextPageToken;
    }
    return ids.slice(0, this.config.GMAIL_RESYNC_MAX_MESSAGES);
  }

  private async fire(token: string, a: AutomationRow, candidates: Candidate[]): Promise<number> {
    if (candidates.length === 0) return 0;
    // Skip, in one query, what fired before; the unique constraint still decides races.
    const seen = await this.repo.fired(a.id, candidates);
    const done = new Set(seen.map((s) => `${s.messageId}:${s.attachmentId}`));
    let fired = 0;
    for (const c of candidates.filter((x) => !done.has(`${x.messageId}:${x.attachmentId}`))) {
      let file: Fetched | null = null;
      let unreadable: string | null = null;
      try {
        file = await this.files.gmailFile(token, c.messageId, c.attachmentId, c.part);
      } catch (err) {
        // Gone or refused for good: a failed firing, so the cursor can move past it. Anything
        // transient, and a 401 (the token is refreshed), is thrown: the sync is tried again
        // from the same cursor.
        if (!(err instanceof GoogleApiError) || err.retryable || err.status === 401) throw err;
        unreadable = `the attachment could not be read: ${err.message}`;
      }
      const firedRun = await this.repo.transaction(async (m) => {
        const firing = await this.repo.claimFiring(m, a.id, c.messageId, c.attachmentId);
        if (!firing) return null;
        if (!file) {
          await this.repo.firingFailed(m, firing, unreadable!);
          return null;
        }
        try {
          await m.query('SAVEPOINT fire');
          const { file: f } = await this.files.store(ownerOfRow(a), a.job_id, file, m);
          const run = await this.runs.startIn(m, ownerOfRow(a), a.job_id, [f.id]);
          await m.query('RELEASE SAVEPOINT fire');
          await this.repo.firingRan(m, firing, run.id);
          await this.outbox.add(m, 'extraction.automation.fired.v1', {
            automationId: a.id,
            automationRunId: firing,
            runId: run.id,
            messageId: c.messageId,
            attachmentId: c.attachmentId,
          });
          return run.id;
        } catch (err) {
          // A file that cannot be run (not a PDF, too large) is a failed firing, kept with why.
          await m.query('ROLLBACK TO SAVEPOINT fire');
          const message =
            err instanceof RpcException
              ? (err.getError() as RpcErrorBody).message
              : (err as Error).message;
          await this.repo.firingFailed(m, firing, String(message));
          return null;
        }
      });
      if (firedRun) {
        fired++;
        this.metrics.firings.inc();
      }
    }
    this.relay.kick();
    if (fired) this.logger.info({ automationId: a.id, fired }, 'automation fired');
    return fired;
  }

  /** Asks Gmail to keep pushing for this account's mailbox (a watch lasts 7 days). */
  async renewWatch(accountId: string): Promise<void> {
    const w = await this.accounts.withToken(accountId, (token) =>
      this.google.gmailWatch(token, this.config.GMAIL_PUSH_TOPIC),
    );
    await this.repo.setWatchExpiry(accountId, w.expiration);
  }
}
