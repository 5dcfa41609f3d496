import { ApiKeyStore, generateApiKey, hashApiKey, hasScope } from './api-keys';

describe('ApiKeyStore', () => {
  const key = generateApiKey();
  const store = new ApiKeyStore([
    { id: 'reporting', sha256: hashApiKey(key), scopes: ['status:read'], tenant: 'acme' },
  ]);

  it('knows a key only by its hash', () => {
    expect(JSON.stringify(store)).not.toContain(key);
    expect(store.verify(key)).toEqual({
      keyId: 'reporting',
      callerId: 'reporting',
      tenantId: 'acme',
      scopes: ['status:read'],
    });
  });

  it('refuses unknown, empty and oversized keys', () => {
    expect(store.verify(generateApiKey())).toBeNull();
    expect(store.verify('')).toBeNull();
    expect(store.verify(undefined)).toBeNull();
    expect(store.verify('x'.repeat(10_000))).toBeNull();
  });

  it('gives the development key every scope, and nothing without it', () => {
    const dev = new ApiKeyStore([], 'a-development-key-123');
    expect(hasScope(dev.verify('a-development-key-123')!, 'ops:read')).toBe(true);
    // Reading across tenants is never implied: an operator's key names it.
    expect(hasScope(dev.verify('a-development-key-123')!, 'platform:admin')).toBe(false);
    expect(new ApiKeyStore([]).size).toBe(0);
  });

  it('checks scopes exactly', () => {
    const caller = store.verify(key)!;
    expect(hasScope(caller, 'status:read')).toBe(true);
    expect(hasScope(caller, 'ops:read')).toBe(false);
  });

  it('makes keys with 256 bits of randomness', () => {
    expect(generateApiKey()).toMatch(/^pk_[A-Za-z0-9_-]{43}$/);
  });
});
