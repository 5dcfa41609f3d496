import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

interface StatePayload {
  u: string;
  p: string;
  r: string;
  e: number;
  n: string;
}

/**
 * The OAuth `state`: who started the flow, for which provider and redirect, until when,
 * signed so the callback can trust it (CSRF protection) without storing anything.
 */
export function signState(
  secret: string,
  p: Omit<StatePayload, 'n' | 'e'>,
  ttlSeconds = 600,
): string {
  const body = Buffer.from(
    JSON.stringify({
      ...p,
      e: Date.now() + ttlSeconds * 1000,
      n: randomBytes(12).toString('base64url'),
    }),
  ).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

export function verifyState(secret: string, state: string): StatePayload | null {
  const [body, sig] = state.split('.');
  if (!body || !sig) return null;
  const want = Buffer.from(mac(secret, body));
  const got = Buffer.from(sig);
  if (got.length !== want.length || !timingSafeEqual(got, want)) return null;
  try {
    const p = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as StatePayload;
    return p.e > Date.now() ? p : null;
  } catch {
    return null;
  }
}

const mac = (secret: string, body: string) =>
  createHmac('sha256', secret).update(body).digest('base64url');
