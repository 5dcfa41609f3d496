import { Inject, Injectable } from '@nestjs/common';
import { type Keyring, keyringFromConfig } from '@app/crypto';
import { rpcError } from '@app/messaging';
import { SERVICE_CONFIG } from '@app/service-kit';
import type { ExtractionConfig } from '../config';

/**
 * OAuth tokens sealed with AES-256-GCM under a named key, bound to their account and kind
 * (a token copied to another row or column does not open). Fails closed: with no key
 * configured, nothing is sealed or opened, and callers are refused before any write.
 */
@Injectable()
export class TokenVault {
  private readonly keyring: Keyring | null;

  constructor(@Inject(SERVICE_CONFIG) config: ExtractionConfig) {
    this.keyring = keyringFromConfig(config);
  }

  /** Throws the 503 callers get when tokens cannot be protected. */
  assertReady(): Keyring {
    if (!this.keyring)
      throw rpcError('unavailable', 'token encryption is not configured; no token is stored', {
        reason: 'ENCRYPTION_KEYS is not set',
      });
    return this.keyring;
  }

  seal(accountId: string, kind: 'access' | 'refresh', token: string): Buffer {
    return Buffer.from(this.assertReady().encrypt(token, `${accountId}:${kind}`), 'utf8');
  }

  open(accountId: string, kind: 'access' | 'refresh', sealed: Buffer): string {
    return this.assertReady().decryptString(sealed.toString('utf8'), `${accountId}:${kind}`);
  }
}
