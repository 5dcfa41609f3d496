import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import { readFile } from 'node:fs/promises';
import type { Logger } from 'pino';
import { LOGGER, SERVICE_CONFIG } from '@app/service-kit';
import type { PdfWorkflowConfig } from '../config';
import { devSealKey, type SealKey } from './seal';

/**
 * The key finished documents are sealed with: the configured PKCS#12 (SEAL_P12_FILE, or its
 * bytes in SEAL_P12), read once; outside production without one, a self-signed key made at
 * first use (tests, a laptop), said so in the log.
 */
@Injectable()
export class SealKeys implements OnModuleInit {
  private key?: Promise<SealKey>;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: PdfWorkflowConfig & { NODE_ENV?: string },
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** A production replica without a real key does not start (and a missing file fails now). */
  async onModuleInit(): Promise<void> {
    const given = !!this.config.SEAL_P12_FILE || !!this.config.SEAL_P12;
    if (this.config.NODE_ENV === 'production' && !given)
      throw new Error(
        'SEAL_P12_FILE (or SEAL_P12) is required when NODE_ENV=production: the PKCS#12 key finished documents are sealed with',
      );
    if (given) await this.get();
  }

  get(): Promise<SealKey> {
    this.key ??= this.load();
    return this.key;
  }

  private async load(): Promise<SealKey> {
    const passphrase = this.config.SEAL_P12_PASSPHRASE;
    if (this.config.SEAL_P12_FILE)
      return { p12: await readFile(this.config.SEAL_P12_FILE), passphrase };
    if (this.config.SEAL_P12)
      return { p12: Buffer.from(this.config.SEAL_P12, 'base64'), passphrase };
    this.logger.warn(
      'no SEAL_P12_FILE: finished documents are sealed with a self-signed development key',
    );
    return devSealKey();
  }
}
