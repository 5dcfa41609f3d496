import { createHash, createHmac, randomInt, timingSafeEqual } from 'node:crypto';

/**
 * A recipient's link token: HMAC-SHA256 of the recipient's id under the service's link secret
 * (256 bits, base64url). Only its SHA-256 is stored; the service can compute it again to send
 * the link when the recipient's turn comes or a reminder is due, without keeping it.
 */
export function linkToken(secret: string, recipientId: string): string {
  return createHmac('sha256', secret).update(`recipient-link:${recipientId}`).digest('base64url');
}

export const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** A six-digit access code, sent through the other channel than the link. */
export function newAccessCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

export function hashAccessCode(recipientId: string, code: string): Buffer {
  return createHash('sha256').update(`${recipientId}:${code}`, 'utf8').digest();
}

/** Compares digests without leaking, through timing, how much of them matched. */
export function sameDigest(a: Buffer | null, b: Buffer): boolean {
  return !!a && a.length === b.length && timingSafeEqual(a, b);
}

/** The URL a recipient opens: the gateway's public address and the link token. */
export function linkUrlFor(publicBaseUrl: string, token: string): string {
  return `${publicBaseUrl}/api/v1/r/${token}`;
}

export function recipientLinkUrl(
  c: { PUBLIC_BASE_URL: string; LINK_SECRET: string },
  recipientId: string,
): string {
  return linkUrlFor(c.PUBLIC_BASE_URL, linkToken(c.LINK_SECRET, recipientId));
}

type Created = { links: Array<{ recipientId: string; url?: string }> };

/**
 * A created workflow's answer holds every recipient's link, which this service never stores
 * (only hashes): the request record keeps it without the URLs, and a repeat gets them derived
 * again from the link secret.
 */
export function workflowAnswerCodecs(c: { PUBLIC_BASE_URL: string; LINK_SECRET: string }) {
  return {
    'pdf-workflow.workflow.create.v1': {
      store: (r: unknown) => {
        const created = r as Created;
        return { ...created, links: created.links.map(({ url: _url, ...l }) => l) };
      },
      replay: (r: unknown) => {
        const created = r as Created;
        return {
          ...created,
          links: created.links.map((l) => ({ ...l, url: recipientLinkUrl(c, l.recipientId) })),
        };
      },
    },
  };
}
