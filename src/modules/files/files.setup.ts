// Which blob store this instance uses: S3 when configured, else Postgres when DATABASE_URL is set, else disk.
// The embedded mode (PGlite) keeps files on disk rather than in its blobs table: PGlite runs one query at a
// time on its single connection, and a photo served from it would hold up every queue read behind it.
import { join } from 'node:path';
import type { Config } from '../../config.js';
import type { DB } from '../../db/database.js';
import { DiskBlobStore } from './files.disk.js';
import { PostgresBlobStore } from './files.postgres.js';
import { S3BlobStore } from './files.s3.js';
import type { BlobStore } from './files.store.js';

export interface BlobStoreSetup {
  kind: 's3' | 'postgres' | 'disk';
  store: BlobStore;
  /** Releases the store's connections (the S3 client's sockets). */
  close(): void;
}

export function createBlobStore(config: Config, db: DB): BlobStoreSetup {
  const { S3_ENDPOINT: endpoint, S3_BUCKET: bucket } = config;
  if (endpoint && bucket) {
    const store = new S3BlobStore({
      endpoint,
      bucket,
      region: config.S3_REGION,
      accessKeyId: config.S3_ACCESS_KEY_ID,
      secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    });
    return { kind: 's3', store, close: () => store.close() };
  }
  if (!config.EMBEDDED) return { kind: 'postgres', store: new PostgresBlobStore(db), close: () => {} };
  return { kind: 'disk', store: new DiskBlobStore(join(config.DATA_DIR, 'blobs')), close: () => {} };
}
