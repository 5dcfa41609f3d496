import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  assertValidKey,
  type BlobStorage,
  ObjectNotFoundError,
  type StoredObject,
} from './storage';

/** Files under a root directory; writes land atomically (temp file, then rename). */
export class FsStorage implements BlobStorage {
  constructor(private readonly root: string) {}

  async put(key: string, body: Buffer | Readable, contentType?: string): Promise<StoredObject> {
    assertValidKey(key);
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomUUID()}.tmp`;
    const hash = createHash('sha256');
    let size = 0;
    const source = Buffer.isBuffer(body) ? Readable.from([body]) : body;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(tmp, { flags: 'wx' }));
      const meta: StoredObject = { key, size, sha256: hash.digest('hex'), contentType };
      await writeFile(`${tmp}.meta`, JSON.stringify(meta));
      await rename(`${tmp}.meta`, `${path}.meta`);
      await rename(tmp, path);
      return meta;
    } catch (err) {
      await rm(tmp, { force: true });
      await rm(`${tmp}.meta`, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key);
    const path = this.pathOf(key);
    try {
      await stat(path);
    } catch {
      throw new ObjectNotFoundError(key);
    }
    return createReadStream(path);
  }

  async head(key: string): Promise<StoredObject | null> {
    assertValidKey(key);
    try {
      return JSON.parse(await readFile(`${this.pathOf(key)}.meta`, 'utf8')) as StoredObject;
    } catch {
      return null;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await rm(this.pathOf(key), { force: true });
    await rm(`${this.pathOf(key)}.meta`, { force: true });
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split('/'));
  }
}
