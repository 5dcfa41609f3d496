import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import { hashAccessCode, linkToken, linkUrlFor, newAccessCode } from '../adapters/links';
import { Notifier } from '../adapters/notifier';
import type { PdfWorkflowConfig } from '../config';
import { type RecipientRow, type SessionRow, WorkflowsRepository } from './workflows.repository';

/**
 * Tells a recipient it is their turn (creation, the step before theirs, a resend, the reminder
 * job): the link by email (or SMS), the access code by the other channel.
 */
@Injectable()
export class TurnNotifier {
  constructor(
    private readonly repo: WorkflowsRepository,
    private readonly notifier: Notifier,
    @Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async notifyTurn(s: SessionRow, r: RecipientRow, reminder = false): Promise<void> {
    const url = linkUrlFor(this.config.PUBLIC_BASE_URL, linkToken(this.config.LINK_SECRET, r.id));
    // A fresh code each time it is sent; only the latest one opens the step.
    const code = r.access_code_hash ? newAccessCode() : null;
    // A new code opens a locked step again, with a fresh count of wrong tries.
    if (code) await this.repo.newAccessCode(r.id, hashAccessCode(r.id, code));
    const subject = reminder
      ? 'Reminder: a document is waiting for you'
      : 'A document is waiting for you';
    const sent = { email: false, sms: false };
    try {
      if (r.email) {
        await this.notifier.send({
          channel: 'email',
          to: r.email,
          subject,
          body: `${r.name}, please complete your part: ${url}`,
        });
        sent.email = true;
      }
      if (r.phone && (!r.email || code)) {
        await this.notifier.send({
          channel: 'sms',
          to: r.phone,
          subject,
          body: code ? `Your access code: ${code}` : `Complete your part: ${url}`,
        });
        sent.sms = true;
      }
      await this.repo.notified(r.id, sent, this.config.REMINDER_INTERVAL_HOURS);
    } catch (err) {
      this.logger.warn(
        { workflowId: s.id, recipientId: r.id, err: (err as Error).message },
        'notification failed',
      );
      // The reminder job tries again: a failed notice must not leave the recipient untold.
      await this.repo.notifyFailed(r.id, (err as Error).message);
    }
  }
}
