import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readAll } from '@app/testing';
import { FsStorage } from './fs-storage';
import { InvalidKeyError, ObjectNotFoundError } from './storage';

describe('FsStorage', () => {
  let root: string;
  let storage: FsStorage;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'storage-'));
    storage = new FsStorage(root);
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('stores a stream, reports size and SHA-256, and reads it back', async () => {
    const meta = await storage.put(
      'docs/a.pdf',
      Readable.from([Buffer.from('%PDF-'), Buffer.from('1.7')]),
      'application/pdf',
    );
    expect(meta).toEqual({
      key: 'docs/a.pdf',
      size: 8,
      sha256: createHash('sha256').update('%PDF-1.7').digest('hex'),
      contentType: 'application/pdf',
    });
    expect(await readAll(await storage.get('docs/a.pdf'))).toBe('%PDF-1.7');
    expect(await storage.head('docs/a.pdf')).toEqual(meta);
  });

  it('leaves no partial file when the source fails', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('upstream cut'));
      },
    });
    await expect(storage.put('x/y.bin', failing)).rejects.toThrow('upstream cut');
    expect(await storage.head('x/y.bin')).toBeNull();
    expect((await readdir(join(root, 'x'))).length).toBe(0);
  });

  it('refuses keys that escape the root', async () => {
    for (const key of ['../etc/passwd', '/abs', 'a//b', 'a/../b', '.hidden']) {
      await expect(storage.put(key, Buffer.from('x'))).rejects.toBeInstanceOf(InvalidKeyError);
    }
  });

  it('answers not found for a missing object and deletes idempotently', async () => {
    await expect(storage.get('nope')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await storage.put('k', Buffer.from('v'));
    await storage.delete('k');
    await storage.delete('k');
    expect(await storage.head('k')).toBeNull();
  });
});
