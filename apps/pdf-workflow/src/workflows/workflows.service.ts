import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import {
  type ClientInfo,
  type RecipientStep,
  type StoredFile,
  type WorkflowStatus,
} from '@app/contracts';
import { Outbox, OutboxRelay, rpcError } from '@app/messaging';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { BlobStorage } from '@app/storage';
import { hashAccessCode, hashToken, linkUrlFor, sameDigest, TOKEN_SHAPE } from '../adapters/links';
import { Scanner } from '../adapters/scanner';
import type { PdfWorkflowConfig } from '../config';
import { checkValue, FieldValueError } from '../pdf/pdf-forms';
import { PdfPool } from '../pdf/pdf-pool';
import { attachmentName, matchesType } from './attachment-files';
import { DocumentRenderer } from './document-renderer';
import { BLOB_STORAGE } from './tokens';
import { TurnNotifier } from './turn-notifier';
import {
  type RecipientRow,
  recipientView,
  type SessionRow,
  WorkflowsRepository,
} from './workflows.repository';

export { BLOB_STORAGE } from './tokens';

type Link = { token: string; accessCode?: string; client: ClientInfo };

/** Seconds a caller waits for a document being filled before asking again. */
const DOCUMENT_RETRY_SECONDS = 2;

/**
 * The recipients' side: each acts through its link — open, read the document, save answers,
 * attach files, complete the step. Nothing here fills a PDF: answers are checked against what
 * the fill will need when saved (in the worker pool, before any row is locked), and documents
 * are filled by the DocumentRenderer after the step commits.
 */
@Injectable()
export class WorkflowsService {
  constructor(
    private readonly repo: WorkflowsRepository,
    private readonly outbox: Outbox,
    private readonly relay: OutboxRelay,
    private readonly turns: TurnNotifier,
    private readonly renderer: DocumentRenderer,
    private readonly scanner: Scanner,
    private readonly pdf: PdfPool,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig,
  ) {}

  async open(l: Link): Promise<RecipientStep> {
    const { recipient, session } = await this.repo.ds.transaction(async (m) => {
      const found = await this.resolve(m, l, true);
      if (found.recipient.status === 'PENDING') {
        await this.repo.accessed(m, found.recipient.id);
        found.recipient.status = 'ACCESSED';
      }
      await this.repo.audit(m, found.session.id, 'link_accessed', l.client, found.recipient.id);
      return found;
    });
    return this.step(session, recipient, l.token);
  }

  /** The document with the answers of the steps before this one (409 while it is filled). */
  async recipientDocument(l: Link): Promise<StoredFile> {
    const { session } = await this.resolve(this.repo.ds, l);
    if (session.document_step < session.completed_recipients)
      throw rpcError(
        'conflict',
        "the document with the previous recipients' answers is being prepared; try again shortly",
        { retryAfterSeconds: DOCUMENT_RETRY_SECONDS },
      );
    return {
      key: session.document_key ?? session.original_key!,
      fileName: 'document.pdf',
      fileType: 'application/pdf',
    };
  }

  /**
   * Saves answers once they are known to be fillable: kind and size here, fonts and fit in the
   * worker pool (a name in any script is drawn, or refused now with the characters named),
   * then one short locked transaction.
   */
  async save(l: Link & { formData: Record<string, unknown> }): Promise<RecipientStep> {
    const before = await this.resolve(this.repo.ds, l);
    const data = this.validData(before.session, before.recipient, l.formData);
    await this.checkDrawable(before.session, data);
    const { recipient, session } = await this.repo.ds.transaction(async (m) => {
      // The unlocked pass above already counted a wrong access code.
      const found = await this.resolve(m, l, true, true);
      const saved = await this.repo.saveAnswers(m, found.recipient.id, data);
      await this.repo.audit(m, found.session.id, 'saved', l.client, found.recipient.id, {
        fields: Object.keys(data),
        ...this.signatureAudit(found.session, data),
      });
      return { recipient: saved, session: found.session };
    });
    return this.step(session, recipient, l.token);
  }

  /** A signature is recorded in the audit by the hash of what was given, typed or drawn. */
  private signatureAudit(s: SessionRow, data: Record<string, unknown>) {
    const kinds = new Map(s.fields.map((f) => [f.name, f.type]));
    const signatures = Object.entries(data)
      .filter(([k]) => kinds.get(k) === 'signature')
      .map(([field, v]) => ({
        field,
        kind: typeof v === 'string' ? 'typed' : 'drawn',
        sha256: sha256(typeof v === 'string' ? v : JSON.stringify(v)),
      }));
    return signatures.length ? { signatures } : {};
  }

  private async checkDrawable(s: SessionRow, data: Record<string, unknown>): Promise<void> {
    const fields = new Map(s.fields.map((f) => [f.name, f]));
    const answers = Object.entries(data)
      .map(([k, value]) => ({ field: fields.get(k)!, value }))
      .filter(({ field }) => ['text', 'dropdown', 'listbox', 'signature'].includes(field.type));
    const problems = await this.pdf.check(answers);
    const i = problems.findIndex((p) => p !== null);
    if (i >= 0)
      throw rpcError('unprocessable', problems[i]!, {
        field: answers[i].field.name,
        fields: answers.filter((_, j) => problems[j] !== null).map((a) => a.field.name),
      });
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
    const id = await this.repo.ds.transaction(async (m) => {
      const attachmentId = await this.repo.addAttachment(m, {
        sessionId: found.session.id,
        recipientId: found.recipient.id,
        fileName: name,
        fileType: l.fileType,
        size: head.size,
        key: scan === 'clean' ? l.key : null,
        sha256: head.sha256,
        scan,
      });
      await this.repo.audit(m, found.session.id, 'attachment_added', l.client, found.recipient.id, {
        attachmentId,
        checksum: head.sha256,
        scanStatus: scan,
      });
      return attachmentId;
    });
    if (scan === 'infected')
      throw rpcError('unprocessable', 'the attachment failed the virus scan and was not kept');
    if (scan === 'error')
      throw rpcError('unavailable', 'the virus scanner could not check the attachment; try again');
    return { id, fileName: name, fileSize: head.size, checksum: head.sha256, scanStatus: scan };
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
   * Completes the step in one short transaction: counters, statuses, the audit and events.
   * The document follows from the DocumentRenderer; after the last step the workflow is
   * FINALIZING until its sealed document is stored (moments), then COMPLETED with its event.
   */
  async complete(
    l: Link,
  ): Promise<{ workflowStatus: WorkflowStatus; completedRecipients: number }> {
    const { session, next } = await this.repo.ds.transaction(async (m) => {
      const { recipient: r, session: s } = await this.resolve(m, l, true);
      const missing = r.fields.filter((f) => !(f in r.form_data));
      if (missing.length)
        throw rpcError('validation_failed', `fields still to fill: ${missing.join(', ')}`, {
          fields: missing,
        });
      const updated = await this.repo.completeStep(m, s.id, r.id);
      await this.repo.audit(m, s.id, 'recipient_completed', l.client, r.id);
      await this.outbox.add(m, 'pdf-workflow.recipient.completed.v1', {
        workflowId: s.id,
        recipientId: r.id,
        orderIndex: r.order_index,
      });
      const following =
        updated.status === 'FINALIZING'
          ? undefined
          : (await this.repo.recipients(m, s.id)).find(
              (x) => x.order_index === updated.current_recipient_order,
            );
      return { session: updated, next: following };
    });
    this.relay.kick();
    this.renderer.kick();
    if (next) await this.turns.notifyTurn(session, next);
    return {
      workflowStatus: session.status,
      completedRecipients: session.completed_recipients,
    };
  }

  private linkUrl(token: string): string {
    return linkUrlFor(this.config.PUBLIC_BASE_URL, token);
  }

  /** The link's recipient, if it may act now; otherwise why not. */
  private async resolve(
    m: EntityManager | WorkflowsRepository['ds'],
    l: Link,
    lock = false,
    counted = false,
  ) {
    if (typeof l.token !== 'string' || !TOKEN_SHAPE.test(l.token))
      throw rpcError('not_found', 'no such link');
    // Wrong access codes are counted outside any transaction, before a row is locked
    // (unless the caller's own unlocked pass just did).
    if (lock && !counted) await this.resolve(this.repo.ds, l, false);
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
      // The box a field is checked against is the service's business, not the caller's.
      fields: fields.map(({ box: _box, ...f }) => ({ ...f, value: r.form_data[f.name] ?? null })),
      documentUrl: `${this.linkUrl(token)}/document`,
    };
  }
}

function sha256(v: string): string {
  return createHash('sha256').update(v).digest('hex');
}
