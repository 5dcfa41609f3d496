import type { FastifyReply } from 'fastify';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Fault, SimDocument } from './sim';

/** Document types, a few of Claims Evidence's table (ruby_claim_evidence_api fakes/DOCUMENT_TYPES.json). */
export const DOCUMENT_TYPES: Array<[string, string]> = [
  ['137', 'VA 21-526 Veterans Application for Compensation or Pension'],
  ['10', 'UNKNOWN'],
  ['34', 'Medical Treatment Record - Government Facility'],
  ['73', 'Rating Decision - Codesheet'],
  ['27', 'Notice of Disagreement'],
  ['179', 'Form 9 - Substantive Appeal to Board of Veterans Appeals'],
  ['999', 'Restricted Access Document'],
];

export function seed(...parts: string[]): number {
  return createHash('sha256').update(parts.join(':')).digest().readUInt32BE(0);
}

/** `{UPPER-CASE-UUID}` made from the parts. */
export function simUuid(...parts: string[]): string {
  return `{${createHash('md5')
    .update(parts.join(':'))
    .digest('hex')
    .toUpperCase()
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5')}}`;
}

/** Deterministic bytes of a document, streamed in chunks so large files cost no memory. */
export function documentStream(doc: SimDocument): Readable {
  const block = Buffer.alloc(64 * 1024);
  const header = Buffer.from(doc.mime_type === 'application/pdf' ? '%PDF-1.4\n' : 'II*\0');
  createHash('sha256').update(doc.document_id).digest().copy(block, 0);
  for (let i = 32; i < block.length; i++) block[i] = (block[i - 32] * 31 + i) & 0xff;
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= doc.size) return this.push(null);
      const first = sent === 0 ? header : Buffer.alloc(0);
      const n = Math.min(block.length, doc.size - sent);
      const chunk = Buffer.concat([first, block]).subarray(0, n);
      sent += n;
      this.push(chunk);
    },
  });
}

/** The same bytes in one buffer (SOAP answers carry them inline, base64). */
export async function documentBytes(doc: SimDocument): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of documentStream(doc)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/**
 * Applies an injected fault. SOAP services fail with a SOAP fault (HTTP 500) or, in front of
 * them, a proxy's plain answer; REST ones with JSON.
 */
export async function applyFault(
  f: Fault,
  reply: FastifyReply,
  kind: 'soap' | 'json' = 'json',
): Promise<boolean> {
  switch (f.mode) {
    case 'none':
      return false;
    case 'slow':
      await new Promise((r) => setTimeout(r, f.delayMs ?? 2000));
      return false;
    case 'error': {
      const status = f.status ?? (kind === 'soap' ? 500 : 503);
      if (kind === 'soap' && status === 500) {
        // A transient BGS fault as ruby-bgs spec/bgs/base_spec.rb shapes it, with a message
        // from lib/bgs/errors.rb's TRANSIENT_ERRORS.
        await reply
          .status(500)
          .type('text/xml; charset=utf-8')
          .send(
            '<?xml version="1.0" encoding="UTF-8"?><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><S:Fault><faultcode>S:Server</faultcode><faultstring>Fault occurred while processing.</faultstring><detail><ShareException><Message>The Tuxedo service is down</Message></ShareException></detail></S:Fault></S:Body></S:Envelope>',
          );
      } else if (kind === 'soap') {
        // What a proxy in front answers (connect_vbms lib/vbms/errors.rb TRANSIENT_ERRORS).
        await reply.status(status).type('text/plain').send('upstream connect error or disconnect');
      } else {
        await reply.status(status).send({ error: 'simulated upstream failure' });
      }
      return true;
    }
    case 'down':
      reply.raw.socket?.destroy();
      return true;
  }
}
