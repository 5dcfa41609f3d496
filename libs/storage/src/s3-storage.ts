import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NotFound,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  assertValidKey,
  type BlobStorage,
  ObjectNotFoundError,
  type StoredObject,
  streamToBuffer,
} from './storage';

/** S3 (or any S3-compatible store) behind the same interface as the filesystem driver. */
export class S3Storage implements BlobStorage {
  private readonly client: S3Client;

  constructor(
    private readonly bucket: string,
    config: S3ClientConfig = {},
    private readonly prefix = '',
  ) {
    this.client = new S3Client(config);
  }

  async put(key: string, body: Buffer | Readable, contentType?: string): Promise<StoredObject> {
    assertValidKey(key);
    // The hash is part of the contract, so the body is read once here; large uploads
    // should be streamed to the filesystem driver first or sent as multipart by the caller.
    const buf = Buffer.isBuffer(body) ? body : await streamToBuffer(body);
    const sha256 = createHash('sha256').update(buf).digest('hex');
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: buf,
        ContentType: contentType,
        ChecksumSHA256: createHash('sha256').update(buf).digest('base64'),
        Metadata: { sha256 },
      }),
    );
    return { key, size: buf.length, sha256, contentType };
  }

  async get(key: string): Promise<Readable> {
    assertValidKey(key);
    try {
      const out = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      return out.Body as Readable;
    } catch (err) {
      if (err instanceof NoSuchKey || err instanceof NotFound) throw new ObjectNotFoundError(key);
      throw err;
    }
  }

  async head(key: string): Promise<StoredObject | null> {
    assertValidKey(key);
    try {
      const out = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
      );
      return {
        key,
        size: out.ContentLength ?? 0,
        sha256: out.Metadata?.sha256 ?? '',
        contentType: out.ContentType,
      };
    } catch (err) {
      if (err instanceof NotFound || err instanceof NoSuchKey) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.send(
      new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
    );
  }
}
