import { CryptoError, Keyring } from './cipher';

const k1 = Keyring.generateKey();
const k2 = Keyring.generateKey();

describe('Keyring', () => {
  it('round-trips and never emits the plaintext', () => {
    const ring = Keyring.fromEnv(`k1:${k1}`, 'k1');
    const sealed = ring.encrypt('refresh-token-123');
    expect(sealed).not.toContain('refresh-token-123');
    expect(sealed.startsWith('v1.k1.')).toBe(true);
    expect(ring.decryptString(sealed)).toBe('refresh-token-123');
  });

  it('uses a fresh IV each time', () => {
    const ring = Keyring.fromEnv(`k1:${k1}`, 'k1');
    expect(ring.encrypt('x')).not.toBe(ring.encrypt('x'));
  });

  it('reads old ciphertexts after rotation and re-seals them with the new key', () => {
    const old = Keyring.fromEnv(`k1:${k1}`, 'k1').encrypt('secret');
    const ring = Keyring.fromEnv(`k1:${k1},k2:${k2}`, 'k2');
    expect(ring.needsRotation(old)).toBe(true);
    const resealed = ring.rotate(old);
    expect(ring.keyIdOf(resealed)).toBe('k2');
    expect(ring.decryptString(resealed)).toBe('secret');
    expect(ring.needsRotation(resealed)).toBe(false);
  });

  it('refuses tampered ciphertext and a mismatched context', () => {
    const ring = Keyring.fromEnv(`k1:${k1}`, 'k1');
    const sealed = ring.encrypt('secret', 'row-1');
    const parts = sealed.split('.');
    const ct = Buffer.from(parts[4], 'base64url');
    ct[0] ^= 1;
    parts[4] = ct.toString('base64url');
    expect(() => ring.decrypt(parts.join('.'), 'row-1')).toThrow(CryptoError);
    expect(() => ring.decrypt(sealed, 'row-2')).toThrow('failed authentication');
  });

  it('fails closed without keys, with a short key, or with an unknown key id', () => {
    expect(() => Keyring.fromEnv(undefined, undefined)).toThrow('ENCRYPTION_KEYS is not set');
    expect(() => Keyring.fromEnv('k1:c2hvcnQ=', 'k1')).toThrow('must be 32 bytes');
    const sealed = Keyring.fromEnv(`k9:${k2}`, 'k9').encrypt('x');
    expect(() => Keyring.fromEnv(`k1:${k1}`, 'k1').decrypt(sealed)).toThrow('unknown key id');
  });
});
