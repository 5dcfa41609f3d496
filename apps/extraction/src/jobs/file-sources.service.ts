import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import type { FileInput, SourceFileView } from '@app/contracts';
import { rpcError } from '@app/messaging';
import { SERVICE_CONFIG } from '@app/service-kit';
import { type BlobStorage, ObjectNotFoundError, streamToBuffer } from '@app/storage';
import { AccountsService, AccountUnusableError } from '../accounts/accounts.service';
import { assertId, notFound, type Owner } from '../common';
import type { ExtractionConfig } from '../config';
import { isEInvoiceXml } from '../extract/einvoice';
import { GoogleApiError, GoogleClient, type GmailPart } from '../google/google.client';
import { JobsRepository } from './jobs.repository';
import { JobsService } from './jobs.service';
import { BLOB_STORAGE } from './storage-token';
import { fileView } from './views';

/** A file's bytes as fetched from its source, before it is stored. */
export interface Fetched {
  fileName: string;
  contentType: string;
  data: Buffer;
  sourceType: SourceFileView['sourceType'];
  externalId: string | null;
}

/** A job's files: fetched from an upload, Drive or Gmail, stored once by content, listed, removed. */
@Injectable()
export class FileSourcesService {
  constructor(
    private readonly repo: JobsRepository,
    private readonly jobs: JobsService,
    private readonly accounts: AccountsService,
    private readonly google: GoogleClient,
    @Inject(BLOB_STORAGE) private readonly storage: BlobStorage,
    @Inject(SERVICE_CONFIG) private readonly config: ExtractionConfig,
  ) {}

  async add(
    owner: Owner,
    jobId: string,
    input: FileInput,
  ): Promise<{ file: SourceFileView; created: boolean }> {
    assertId(jobId, 'job');
    await this.jobs.assertOwned(owner, jobId);
    const fetched = await this.fetch(owner, input);
    return this.store(owner, jobId, fetched);
  }

  /**
   * Stores a file's bytes once, under their SHA-256 (the same content is never stored twice),
   * and adds it to the job unless the job already holds that content.
   */
  async store(owner: Owner, jobId: string, f: Fetched, m?: EntityManager) {
    if (f.data.length > this.config.MAX_FILE_BYTES)
      throw rpcError(
        'validation_failed',
        `file is larger than ${this.config.MAX_FILE_BYTES} bytes`,
        { field: 'file' },
      );
    // A PDF, or an e-invoice's bare XML (CII or UBL: read exactly, no text engine needed).
    const xml = isEInvoiceXml(f.data);
    if (!xml && f.data.subarray(0, 1024).indexOf('%PDF-') < 0)
      throw rpcError(
        'unprocessable',
        `${f.fileName} is not a PDF (nor a CII or UBL e-invoice); only those can be extracted`,
        { field: 'file' },
      );
    const fileType = xml ? 'application/xml' : 'application/pdf';
    const hash = createHash('sha256').update(f.data).digest('hex');
    const key = `files/sha256/${hash.slice(0, 2)}/${hash}.${xml ? 'xml' : 'pdf'}`;
    if (!(await this.storage.head(key))) await this.storage.put(key, f.data, fileType);
    const write = async (tx: EntityManager) => {
      await this.jobs.lockJob(tx, owner, jobId);
      const same = await this.repo.liveFileByHash(tx, jobId, hash);
      if (same) return { file: fileView(same), created: false };
      const row = await this.repo.insertFile(tx, jobId, {
        fileName: f.fileName,
        storageKey: key,
        fileType,
        size: f.data.length,
        hash,
        sourceType: f.sourceType,
        externalId: f.externalId,
      });
      await this.repo.touchJob(tx, jobId);
      return { file: fileView(row), created: true };
    };
    return m ? write(m) : this.repo.transaction(write);
  }

  private async fetch(owner: Owner, input: FileInput): Promise<Fetched> {
    switch (input?.source) {
      case 'upload': {
        let data: Buffer;
        try {
          data = await streamToBuffer(await this.storage.get(input.storageKey));
        } catch (err) {
          if (err instanceof ObjectNotFoundError)
            throw rpcError('validation_failed', 'the upload was not found in storage', {
              field: 'storageKey',
            });
          throw err;
        }
        // The gateway's upload was a staging copy; the content-addressed copy replaces it.
        await this.storage.delete(input.storageKey).catch(() => undefined);
        return {
          fileName: input.fileName,
          contentType: input.contentType,
          data,
          sourceType: 'upload',
          externalId: null,
        };
      }
      case 'gdrive': {
        await this.accounts.owned(owner, input.accountId);
        return this.fromGoogle('Drive file', async () =>
          this.accounts.withToken(input.accountId, async (token) => {
            const meta = await this.google.driveFile(token, input.fileId);
            const data = await this.google.driveMedia(token, input.fileId);
            return {
              fileName: meta.name,
              contentType: meta.mimeType,
              data,
              sourceType: 'gdrive' as const,
              externalId: input.fileId,
            };
          }),
        );
      }
      case 'gmail': {
        await this.accounts.owned(owner, input.accountId);
        return this.fromGoogle('Gmail attachment', () =>
          this.gmailAttachment(input.accountId, input.messageId, input.attachmentId),
        );
      }
      default:
        throw rpcError('validation_failed', 'file.source must be upload, gdrive or gmail', {
          field: 'source',
        });
    }
  }

  async gmailAttachment(
    accountId: string,
    messageId: string,
    attachmentId: string,
  ): Promise<Fetched> {
    return this.accounts.withToken(accountId, async (token) => {
      const msg = await this.google.gmailMessage(token, messageId);
      const part = flattenParts(msg.payload).find((p) => p.body.attachmentId === attachmentId);
      return this.gmailFile(token, messageId, attachmentId, part);
    });
  }

  /** An attachment's bytes as a file to store, named as its message part names it. */
  async gmailFile(
    token: string,
    messageId: string,
    attachmentId: string,
    part?: Pick<GmailPart, 'filename' | 'mimeType'>,
  ): Promise<Fetched> {
    return {
      fileName: part?.filename || `attachment-${messageId}.pdf`,
      contentType: part?.mimeType ?? 'application/octet-stream',
      data: await this.google.gmailAttachment(token, messageId, attachmentId),
      sourceType: 'gmail',
      externalId: `${messageId}:${attachmentId}`,
    };
  }

  private async fromGoogle<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AccountUnusableError) throw rpcError('conflict', err.message);
      if (err instanceof GoogleApiError) {
        if (err.status === 404) throw rpcError('not_found', `${what} not found`);
        if (err.status === 413) throw rpcError('validation_failed', err.message, { field: 'file' });
        if (err.status === 403) throw rpcError('forbidden', `${what}: the account may not read it`);
        throw rpcError('bad_gateway', `${what} could not be fetched: ${err.reason}`);
      }
      throw err;
    }
  }

  async list(owner: Owner, jobId: string): Promise<SourceFileView[]> {
    await this.jobs.assertOwned(owner, jobId);
    return (await this.repo.liveFiles(jobId)).map(fileView);
  }

  /** Takes a file out of future runs; earlier runs keep reading it. */
  async remove(owner: Owner, jobId: string, fileId: string) {
    assertId(fileId, 'file');
    await this.repo.transaction(async (m) => {
      await this.jobs.lockJob(m, owner, jobId);
      if (!(await this.repo.removeFile(m, jobId, fileId))) throw notFound('file');
    });
    return { removed: true as const };
  }
}

export function flattenParts(p?: GmailPart): GmailPart[] {
  if (!p) return [];
  return [p, ...(p.parts ?? []).flatMap(flattenParts)];
}
