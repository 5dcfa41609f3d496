import { Inject, Injectable } from '@nestjs/common';
import { attachmentName, matchesType } from './attachment-files';
import type { Logger } from 'pino';
import type { EntityManager } from 'typeorm';
import {
  type ClientInfo,
  type RecipientStep,
  type StoredFile,
  type WorkflowStatus,
} from '@app/contracts';
import { Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import { type BlobStorage, streamToBuffer } from '@app/storage';
import { randomUUID } from 'node:crypto';
import {
  hashAccessCode,
  hashToken,
  linkToken,
  linkUrlFor,
  newAccessCode,
  sameDigest,
  TOKEN_SHAPE,
} from '../adapters/links';
import { Notifier } from '../adapters/notifier';
import { Scanner } from '../adapters/scanner';
import type { PdfWorkflowConfig } from '../config';
import { checkValue, FieldValueError } from '../pdf/pdf-forms';
import { PdfPool } from '../pdf/pdf-pool';
import {
  type RecipientRow,
  recipientView,
  type SessionRow,
  WorkflowsRepository,
} from './workflows.repository';

export const BLOB_STORAGE = Symbol('BLOB_STORAGE');

type Link = { token: string; accessCode?: string; client: ClientInfo };

@Injectable()
export class WorkflowsService {
  constructor(
    private readonly repo: WorkflowsRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly notifier: Notifier,
    private readonly scanner: Scanner,
    private readonly pdf: PdfPool,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  // --- recipients, through their link ---

  async open(l: Link): Promise<RecipientStep> {
    const { recipient, session } = await this.repo.ds.transaction(async (m) => {
      const found = await this.resolve(m, l, true);
      if (found.recipient.status === 'PENDING') {
        await m.query(
          `UPDATE recipients SET status = 'ACCESSED', accessed_at = now(), updated_at = now() WHERE id = $1`,
          [found.recipient.id],
        );
        found.recipient.status = 'ACCESSED';
      }
      await this.repo.audit(m, found.session.id, 'link_accessed', l.client, found.recipient.id);
      return found;
    });
    return this.step(session, recipient, l.token);
  }

  async recipientDocument(l: Link): Promise<StoredFile> {
    const { session } = await this.resolve(this.repo.ds, l);
    return {
      key: session.document_key ?? session.original_key!,
      fileName: 'document.pdf',
      fileType: 'application/pdf',
    };
  }

  async save(l: Link & { formData: Record<string, unknown> }): Promise<RecipientStep> {
    const { recipient, session } = await this.repo.ds.transaction(async (m) => {
      const found = await this.resolve(m, l, true);
      const data = this.validData(found.session, found.recipient, l.formData);
      const [rows] = await m.query<[RecipientRow[], number]>(
        `UPDATE recipients SET form_data = form_data || $2::jsonb, status = 'IN_PROGRESS', updated_at = now() WHERE id = $1 RETURNING *`,
        [found.recipient.id, JSON.stringify(data)],
      );
      await this.repo.audit(m, found.session.id, 'saved', l.client, found.recipient.id, {
        fields: Object.keys(data),
      });
      return { recipient: rows[0], session: found.session };
    });
    return this.step(session, recipient, l.token);
  }

  async attach(l: Link & { fileName: string; fileType: string; key: string }) {
    const discard = () => this.storage.delete(l.key).catch(() => undefined);
    let found: Awaited<ReturnType<WorkflowsService['resolve']>>;
    try {
      found = await this.resolve(this.repo.ds, l);
    } catch (err) {
      await discard();
      throw err;
    }
    if (!this.config.ATTACHMENT_TYPES.includes(l.fileType)) {
      await discard();
      throw rpcError(
        'validation_failed',
        `attachments must be one of ${this.config.ATTACHMENT_TYPES.join(', ')}`,
        { field: 'contentType' },
      );
    }
    const head = await this.storage.head(l.key);
    if (!head) throw rpcError('validation_failed', 'the attachment was not stored');
    if (head.size > this.config.ATTACHMENT_MAX_BYTES) {
      await discard();
      throw rpcError(
        'validation_failed',
        `attachments may be at most ${this.config.ATTACHMENT_MAX_BYTES} bytes`,
        { field: 'data' },
      );
    }
    if (head.size === 0) {
      await discard();
      throw rpcError('validation_failed', 'the attachment is empty', { field: 'data' });
    }
    const scan = await this.scanner.scan(await this.storage.get(l.key));
    if (scan !== 'clean') await discard();
    if (scan === 'clean' && !matchesType(await this.firstBytes(l.key), l.fileType)) {
      await discard();
      throw rpcError('validation_failed', `the attachment's bytes are not ${l.fileType}`, {
        field: 'contentType',
      });
    }
    const name = attachmentName(l.fileName);
    const [a] = await this.repo.ds.transaction(async (m) => {
      const rows = await m.query<Array<{ id: string }>>(
        `INSERT INTO attachments (session_id, recipient_id, file_name, file_type, file_size, storage_key, checksum, scan_status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
        [
          found.session.id,
          found.recipient.id,
          name,
          l.fileType,
          head.size,
          scan === 'clean' ? l.key : null,
          head.sha256,
          scan,
        ],
      );
      await this.repo.audit(m, found.session.id, 'attachment_added', l.client, found.recipient.id, {
        attachmentId: rows[0].id,
        checksum: head.sha256,
        scanStatus: scan,
      });
      return rows;
    });
    if (scan === 'infected')
      throw rpcError('unprocessable', 'the attachment failed the virus scan and was not kept');
    if (scan === 'error')
      throw rpcError('unavailable', 'the virus scanner could not check the attachment; try again');
    return {
      id: a.id,
      fileName: name,
      fileSize: head.size,
      checksum: head.sha256,
      scanStatus: scan,
    };
  }

  /** The first bytes of a stored file (its signature), without reading the rest. */
  private async firstBytes(key: string, n = 16): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let got = 0;
    const stream = await this.storage.get(key);
    for await (const c of stream) {
      chunks.push(c as Buffer);
      got += (c as Buffer).length;
      if (got >= n) break;
    }
    stream.destroy();
    return Buffer.concat(chunks).subarray(0, n);
  }

  /**
   * Completes the step: counters, statuses, the document and the next recipient, at once.
   * The document is filled first, in the worker pool, holding no connection or lock (a
   * long fill must not exhaust the pool or block the workflow's rows); then one short
   * transaction commits the step if nothing changed meanwhile, else nothing is written.
   */
  async complete(
    l: Link,
  ): Promise<{ workflowStatus: WorkflowStatus; completedRecipients: number }> {
    const { recipient: r0, session: s0 } = await this.resolve(this.repo.ds, l);
    const missing = r0.fields.filter((f) => !(f in r0.form_data));
    if (missing.length)
      throw rpcError('validation_failed', `fields still to fill: ${missing.join(', ')}`, {
        fields: missing,
      });
    const all = await this.repo.recipients(this.repo.ds, s0.id);
    const values = Object.assign({}, ...all.map((x) => x.form_data)) as Record<string, unknown>;
    const step = s0.completed_recipients + 1;
    const last = step === s0.total_recipients;
    const original = await streamToBuffer(await this.storage.get(s0.original_key!));
    const bytes = await this.pdf.fill(original, values, last);
    const stored = await this.storage.put(
      `workflows/${s0.id}/${last ? 'final' : `step-${step}`}-${randomUUID()}.pdf`,
      bytes,
      'application/pdf',
    );
    let next: { session: SessionRow; recipient: RecipientRow } | null = null;
    let result: { workflowStatus: WorkflowStatus; completedRecipients: number };
    try {
      result = await this.repo.ds.transaction(async (m) => {
        const { recipient: r, session: s } = await this.resolve(m, l, true);
        if (
          s.completed_recipients !== s0.completed_recipients ||
          JSON.stringify(r.form_data) !== JSON.stringify(r0.form_data)
        )
          throw rpcError(
            'conflict',
            'the answers changed while the document was being filled; complete the step again',
          );
        await m.query(
          `UPDATE recipients SET status = 'COMPLETED', completed_at = now(), next_reminder_at = NULL, updated_at = now() WHERE id = $1`,
          [r.id],
        );
        const [[updated]] = await m.query<[SessionRow[], number]>(
          `UPDATE workflow_sessions SET completed_recipients = completed_recipients + 1, current_recipient_order = current_recipient_order + 1,
                  document_key = $2, updated_at = now()
            WHERE id = $1 RETURNING *`,
          [s.id, stored.key],
        );
        await this.repo.audit(m, s.id, 'recipient_completed', l.client, r.id);
        await this.outbox.add(m, 'pdf-workflow.recipient.completed.v1', {
          workflowId: s.id,
          recipientId: r.id,
          orderIndex: r.order_index,
        });
        if (last) {
          await m.query(
            `UPDATE workflow_sessions SET status = 'COMPLETED', completed_at = now(), document_sha256 = $2 WHERE id = $1`,
            [s.id, stored.sha256],
          );
          await this.repo.audit(m, s.id, 'workflow_completed', l.client, null, {
            originalSha256: s.original_sha256,
            documentSha256: stored.sha256,
          });
          await this.outbox.add(m, 'pdf-workflow.workflow.completed.v1', {
            workflowId: s.id,
            documentSha256: stored.sha256,
            originalSha256: s.original_sha256,
          });
          return { workflowStatus: 'COMPLETED' as const, completedRecipients: step };
        }
        next = {
          session: updated,
          recipient: all.find((x) => x.order_index === updated.current_recipient_order)!,
        };
        return { workflowStatus: 'ACTIVE' as const, completedRecipients: step };
      });
    } catch (err) {
      await this.storage.delete(stored.key).catch(() => undefined);
      throw err;
    }
    // The previous step's document is replaced by this one.
    if (s0.document_key && s0.document_key !== s0.original_key)
      await this.storage.delete(s0.document_key).catch(() => undefined);
    this.relay.kick();
    const n = next as { session: SessionRow; recipient: RecipientRow } | null;
    if (n) await this.notifyTurn(n.session, n.recipient);
    return result;
  }

  // --- helpers ---

  /** Tells the recipient whose turn it is: the link by email (or SMS), the code by the other. */
  async notifyTurn(s: SessionRow, r: RecipientRow, reminder = false): Promise<void> {
    const url = this.linkUrl(linkToken(this.config.LINK_SECRET, r.id));
    // A fresh code each time it is sent; only the latest one opens the step.
    const code = r.access_code_hash ? newAccessCode() : null;
    if (code)
      // A new code opens a locked step again, with a fresh count of wrong tries.
      await this.repo.ds.query(
        `UPDATE recipients SET access_code_hash = $2, access_code_failures = 0, access_code_locked_at = NULL WHERE id = $1`,
        [r.id, hashAccessCode(r.id, code)],
      );
    const subject = reminder
      ? 'Reminder: a document is waiting for you'
      : 'A document is waiting for you';
    const sent: { email?: boolean; sms?: boolean } = {};
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
      await this.repo.ds.query(
        `UPDATE recipients SET email_sent_at = CASE WHEN $2 THEN now() ELSE email_sent_at END,
                sms_sent_at = CASE WHEN $3 THEN now() ELSE sms_sent_at END,
                next_reminder_at = coalesce(next_reminder_at, now() + make_interval(hours => $4)), updated_at = now()
          WHERE id = $1`,
        [r.id, !!sent.email, !!sent.sms, this.config.REMINDER_INTERVAL_HOURS],
      );
    } catch (err) {
      this.logger.warn(
        { workflowId: s.id, recipientId: r.id, err: (err as Error).message },
        'notification failed',
      );
      await this.repo.ds.query(
        // The reminder job tries again: a failed notice must not leave the recipient untold.
        `UPDATE recipients SET error_message = $2, retry_count = retry_count + 1,
                next_reminder_at = coalesce(next_reminder_at, now() + interval '15 minutes') WHERE id = $1`,
        [r.id, (err as Error).message.slice(0, 500)],
      );
    }
  }

  private linkUrl(token: string): string {
    return linkUrlFor(this.config.PUBLIC_BASE_URL, token);
  }

  /** The link's recipient, if it may act now; otherwise why not. */
  private async resolve(m: EntityManager | WorkflowsRepository['ds'], l: Link, lock = false) {
    if (typeof l.token !== 'string' || !TOKEN_SHAPE.test(l.token))
      throw rpcError('not_found', 'no such link');
    // Wrong access codes are counted outside any transaction, before a row is locked.
    if (lock) await this.resolve(this.repo.ds, l, false);
    const hash = hashToken(l.token);
    const found = await this.repo.byLink(m, hash, lock);
    if (!found || !sameDigest(found.recipient.link_hash, hash))
      throw rpcError('not_found', 'no such link');
    const { recipient: r, session: s } = found;
    if (s.status === 'CANCELLED') throw rpcError('gone', 'this workflow was cancelled');
    if (s.status === 'COMPLETED' || r.status === 'COMPLETED')
      throw rpcError('gone', 'this step is finished');
    if (s.status === 'EXPIRED' || s.expires_at.getTime() <= Date.now() || r.status === 'EXPIRED')
      throw rpcError('gone', 'this link has expired');
    if (r.order_index > s.current_recipient_order) {
      throw rpcError(
        'conflict',
        `it is not your turn yet: ${r.order_index - s.current_recipient_order} recipient(s) before you have not finished`,
      );
    }
    if (r.access_code_hash) await this.checkAccessCode(m, r, s, l, !lock);
    return found;
  }

  /**
   * The access code, when the step has one. A wrong code is counted in its own statement
   * (the caller's transaction rolls back on the refusal, the count must not): at
   * ACCESS_CODE_MAX_ATTEMPTS the step locks, with an audit event, until the creator resends.
   */
  private async checkAccessCode(
    m: EntityManager | WorkflowsRepository['ds'],
    r: RecipientRow,
    s: SessionRow,
    l: Link,
    count: boolean,
  ): Promise<void> {
    if (r.access_code_locked_at)
      throw rpcError(
        'locked',
        'too many wrong access codes: this step is locked until the sender sends you a new code',
      );
    if (!l.accessCode)
      throw rpcError(
        'forbidden',
        'this step needs the access code sent to you separately (X-Access-Code)',
      );
    if (sameDigest(r.access_code_hash, hashAccessCode(r.id, l.accessCode))) {
      if (r.access_code_failures > 0) await this.repo.accessCodeAccepted(m, r.id);
      return;
    }
    // Under a row lock the unlocked pass before already counted this code.
    if (!count) throw rpcError('forbidden', 'the access code is wrong');
    const max = this.config.ACCESS_CODE_MAX_ATTEMPTS;
    const { failures, lockedNow } = await this.repo.accessCodeFailed(r.id, max);
    if (lockedNow)
      await this.repo.audit(this.repo.ds, s.id, 'access_code_locked', l.client, r.id, {
        failures,
      });
    if (failures >= max)
      throw rpcError(
        'locked',
        'too many wrong access codes: this step is locked until the sender sends you a new code',
      );
    throw rpcError('forbidden', `the access code is wrong; ${max - failures} tries left`);
  }

  private validData(
    s: SessionRow,
    r: RecipientRow,
    data: Record<string, unknown>,
  ): Record<string, unknown> {
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw rpcError('validation_failed', 'formData must be an object');
    const fields = new Map(s.fields.map((f) => [f.name, f]));
    for (const [k, v] of Object.entries(data)) {
      if (!r.fields.includes(k))
        throw rpcError('validation_failed', `field "${k}" is not yours to fill`, { field: k });
      try {
        checkValue(fields.get(k)!, v, {
          singleLine: this.config.TEXT_FIELD_MAX_CHARS,
          multiline: this.config.MULTILINE_FIELD_MAX_CHARS,
        });
      } catch (err) {
        if (err instanceof FieldValueError)
          throw rpcError(
            err.kind === 'bound' ? 'unprocessable' : 'validation_failed',
            err.message,
            {
              field: k,
            },
          );
        throw err;
      }
    }
    return data;
  }

  private step(s: SessionRow, r: RecipientRow, token: string): RecipientStep {
    const fields = s.fields.filter((f) => r.fields.includes(f.name));
    return {
      workflowId: s.id,
      recipient: recipientView(r),
      fields: fields.map((f) => ({ ...f, value: r.form_data[f.name] ?? null })),
      documentUrl: `${this.linkUrl(token)}/document`,
    };
  }
}
