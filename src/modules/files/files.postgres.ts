// The blob store on Postgres (the `blobs` table): the default when DATABASE_URL is set.
import type { DB } from '../../db/database.js';
import {
  type BlobStore,
  checkBlobKey,
  checkBlobPut,
  MAX_BLOB_BYTES,
  type StoredBlob,
} from './files.store.js';

export class PostgresBlobStore implements BlobStore {
  constructor(
    private readonly db: DB,
    private readonly limit = MAX_BLOB_BYTES,
  ) {}

  async put(key: string, bytes: Buffer, contentType: string): Promise<void> {
    checkBlobPut(key, bytes, contentType, this.limit);
    const row = { key, contentType, bytes, size: bytes.length };
    await this.db
      .insertInto('blobs')
      .values(row)
      .onConflict((oc) =>
        oc.column('key').doUpdateSet({ contentType, bytes, size: bytes.length, createdAt: new Date() }),
      )
      .execute();
  }

  async get(key: string): Promise<StoredBlob | null> {
    checkBlobKey(key);
    const row = await this.db
      .selectFrom('blobs')
      .select(['bytes', 'contentType'])
      .where('key', '=', key)
      .executeTakeFirst();
    // PGlite hands bytea back as a Uint8Array, pg as a Buffer.
    return row ? { bytes: Buffer.from(row.bytes), contentType: row.contentType } : null;
  }

  async delete(key: string): Promise<void> {
    checkBlobKey(key);
    await this.db.deleteFrom('blobs').where('key', '=', key).execute();
  }
}
