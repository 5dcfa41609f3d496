import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const ALG = 'aes-256-gcm';
const IV_BYTES = 12;
const FORMAT = 'v1';
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export class CryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CryptoError';
  }
}

/**
 * AES-256-GCM with key ids. Every ciphertext names the key that sealed it, so old
 * ciphertexts stay readable after a new key becomes active and can be re-sealed lazily.
 *
 * Sealed form: `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts).
 */
export class Keyring {
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(
    keys: Record<string, Buffer>,
    readonly activeKeyId: string,
  ) {
    const map = new Map<string, Buffer>();
    for (const [id, key] of Object.entries(keys)) {
      if (!KEY_ID.test(id)) throw new CryptoError(`key id "${id}" is not a plain identifier`);
      if (key.length !== 32)
        throw new CryptoError(`key "${id}" must be 32 bytes, got ${key.length}`);
      map.set(id, key);
    }
    if (!map.has(activeKeyId))
      throw new CryptoError(`active key "${activeKeyId}" is not in the keyring`);
    this.keys = map;
  }

  /**
   * Parses `id1:base64key,id2:base64key` with the active id named separately.
   * Fails closed: no keys means no keyring, never a plaintext fallback.
   */
  static fromEnv(spec: string | undefined, activeKeyId: string | undefined): Keyring {
    if (!spec) throw new CryptoError('ENCRYPTION_KEYS is not set: refusing to handle secrets');
    const keys: Record<string, Buffer> = {};
    for (const part of spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)) {
      const i = part.indexOf(':');
      if (i <= 0) throw new CryptoError('ENCRYPTION_KEYS entries must look like id:base64key');
      keys[part.slice(0, i)] = Buffer.from(part.slice(i + 1), 'base64');
    }
    const ids = Object.keys(keys);
    return new Keyring(keys, activeKeyId ?? ids[ids.length - 1]);
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  /** `aad` binds the ciphertext to its context (e.g. a row id) so it cannot be moved. */
  encrypt(plaintext: string | Buffer, aad?: string): string {
    const key = this.keys.get(this.activeKeyId)!;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALG, key, iv);
    if (aad) cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ct = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT, this.activeKeyId, b64(iv), b64(tag), b64(ct)].join('.');
  }

  decrypt(sealed: string, aad?: string): Buffer {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== FORMAT) throw new CryptoError('not a sealed value');
    const [, keyId, iv, tag, ct] = parts;
    const key = this.keys.get(keyId);
    if (!key) throw new CryptoError(`unknown key id "${keyId}"`);
    try {
      const decipher = createDecipheriv(ALG, key, Buffer.from(iv, 'base64url'));
      if (aad) decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]);
    } catch {
      throw new CryptoError('ciphertext failed authentication');
    }
  }

  decryptString(sealed: string, aad?: string): string {
    return this.decrypt(sealed, aad).toString('utf8');
  }

  keyIdOf(sealed: string): string {
    return sealed.split('.')[1] ?? '';
  }

  /** True when the value was sealed with a key other than the active one. */
  needsRotation(sealed: string): boolean {
    return this.keyIdOf(sealed) !== this.activeKeyId;
  }

  rotate(sealed: string, aad?: string): string {
    return this.needsRotation(sealed) ? this.encrypt(this.decrypt(sealed, aad), aad) : sealed;
  }
}

function b64(b: Buffer): string {
  return b.toString('base64url');
}
