import { RpcException } from '@nestjs/microservices';
import { Keyring } from '@app/crypto';
import type { ExtractionConfig } from '../config';
import { signState, verifyState } from './oauth-state';
import { TokenVault } from './token-vault';

const vault = (keys?: string) => new TokenVault({ ENCRYPTION_KEYS: keys } as ExtractionConfig);

describe('token vault', () => {
  it('seals tokens bound to their account and kind, and opens only those', () => {
    const v = vault(`k1:${Keyring.generateKey()}`);
    const sealed = v.seal('acct-1', 'refresh', '1//secret-refresh');
    expect(sealed.toString('utf8')).toMatch(/^v1\.k1\./);
    expect(sealed.toString('utf8')).not.toContain('secret');
    expect(v.open('acct-1', 'refresh', sealed)).toBe('1//secret-refresh');
    expect(() => v.open('acct-2', 'refresh', sealed)).toThrow();
    expect(() => v.open('acct-1', 'access', sealed)).toThrow();
  });

  it('fails closed without a key: nothing is sealed, the caller gets a 503', () => {
    const v = vault(undefined);
    expect(() => v.seal('acct-1', 'access', 'ya29.token')).toThrow(RpcException);
    try {
      v.assertReady();
    } catch (err) {
      expect((err as RpcException).getError()).toMatchObject({ code: 'unavailable', status: 503 });
    }
  });
});

describe('oauth state', () => {
  const secret = 'a-state-secret-of-at-least-32-characters';
  it('round-trips, and refuses a tampered or foreign state', () => {
    const s = signState(secret, { u: 'user-1', p: 'google', r: 'https://app.example.org/cb' });
    expect(verifyState(secret, s)).toMatchObject({ u: 'user-1', p: 'google' });
    const [body, sig] = s.split('.');
    const forged = Buffer.from(
      JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), u: 'user-2' }),
    ).toString('base64url');
    expect(verifyState(secret, `${forged}.${sig}`)).toBeNull();
    expect(verifyState('another-secret-of-at-least-32-characters', s)).toBeNull();
    expect(verifyState(secret, signState(secret, { u: 'u', p: 'google', r: 'x' }, -1))).toBeNull();
  });
});
