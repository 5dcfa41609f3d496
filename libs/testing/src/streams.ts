import type { Readable } from 'node:stream';
import { streamToBuffer } from '@app/storage';

/** Reads a stream to the end, as text. */
export async function readAll(s: Readable): Promise<string> {
  return (await streamToBuffer(s)).toString();
}
