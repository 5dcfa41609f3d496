import { z } from 'zod';
import { FsStorage } from './fs-storage';
import { S3Storage } from './s3-storage';
import type { BlobStorage } from './storage';

export const storageSchema = z.object({
  STORAGE_DRIVER: z.enum(['fs', 's3']).default('fs'),
  STORAGE_ROOT: z.string().default('./var/storage'),
  S3_BUCKET: z.string().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ENDPOINT: z.string().url().optional(),
  S3_PREFIX: z.string().default(''),
});
export type StorageConfig = z.infer<typeof storageSchema>;

export function createStorage(cfg: StorageConfig): BlobStorage {
  switch (cfg.STORAGE_DRIVER) {
    case 'fs':
      return new FsStorage(cfg.STORAGE_ROOT);
    case 's3':
      if (!cfg.S3_BUCKET) throw new Error('S3_BUCKET: is required when STORAGE_DRIVER=s3');
      return new S3Storage(
        cfg.S3_BUCKET,
        { region: cfg.S3_REGION, endpoint: cfg.S3_ENDPOINT, forcePathStyle: !!cfg.S3_ENDPOINT },
        cfg.S3_PREFIX,
      );
  }
}
