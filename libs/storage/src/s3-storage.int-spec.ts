import S3rver from 's3rver';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { readAll } from '@app/testing';
import { createHash } from 'node:crypto';
import { createStorage } from './create-storage';
import { ObjectNotFoundError } from './storage';

/** The S3 driver against an S3-compatible simulator speaking the real wire protocol. */
describe('S3Storage', () => {
  let dir: string;
  let server: S3rver;
  let endpoint: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 's3-'));
    server = new S3rver({
      port: 0,
      address: '127.0.0.1',
      silent: true,
      directory: dir,
      configureBuckets: [{ name: 'docs', configs: [] }],
    });
    const addr = await server.run();
    endpoint = `http://127.0.0.1:${addr.port}`;
    process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
    process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  });
  afterAll(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('puts, heads, gets and deletes through the same interface as the filesystem driver', async () => {
    const storage = createStorage({
      STORAGE_DRIVER: 's3',
      STORAGE_ROOT: '',
      S3_BUCKET: 'docs',
      S3_REGION: 'us-east-1',
      S3_ENDPOINT: endpoint,
      S3_PREFIX: 'env/',
    });
    const meta = await storage.put(
      'a/b.pdf',
      Readable.from([Buffer.from('%PDF-1.7 body')]),
      'application/pdf',
    );
    expect(meta).toEqual({
      key: 'a/b.pdf',
      size: 13,
      sha256: createHash('sha256').update('%PDF-1.7 body').digest('hex'),
      contentType: 'application/pdf',
    });
    expect(await storage.head('a/b.pdf')).toEqual(meta);
    expect(await readAll(await storage.get('a/b.pdf'))).toBe('%PDF-1.7 body');
    await storage.delete('a/b.pdf');
    expect(await storage.head('a/b.pdf')).toBeNull();
    await expect(storage.get('a/b.pdf')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('needs a bucket to be configured', () => {
    expect(() =>
      createStorage({
        STORAGE_DRIVER: 's3',
        STORAGE_ROOT: '',
        S3_REGION: 'us-east-1',
        S3_PREFIX: '',
      }),
    ).toThrow('S3_BUCKET');
  });
});
