import type { Readable } from 'node:stream';

export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
  contentType?: string;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`object "${key}" not found`);
    this.name = 'ObjectNotFoundError';
  }
}

export class InvalidKeyError extends Error {
  constructor(readonly key: string) {
    super(`object key "${key}" is not allowed`);
    this.name = 'InvalidKeyError';
  }
}

/** Blob storage behind one interface: the filesystem locally, S3 in production. */
export interface BlobStorage {
  put(key: string, body: Buffer | Readable, contentType?: string): Promise<StoredObject>;
  get(key: string): Promise<Readable>;
  head(key: string): Promise<StoredObject | null>;
  delete(key: string): Promise<void>;
}

// Keys are relative paths of plain segments: no "..", no absolute paths, no empty segments.
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export function assertValidKey(key: string): void {
  const segments = key.split('/');
  if (segments.length > 16 || !segments.every((s) => SEGMENT.test(s) && s !== '..')) {
    throw new InvalidKeyError(key);
  }
}

/** Reads a stream to the end (for bodies known to be small enough to hold). */
export async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c));
  return Buffer.concat(chunks);
}
