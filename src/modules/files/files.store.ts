// The store every instance shares for uploaded bytes (doctor photos, visit-record attachments, ...).
// Postgres (`blobs` table) by default when DATABASE_URL is set, an S3-compatible bucket when S3_ENDPOINT and
// S3_BUCKET are set, local disk only in the embedded mode. Callers never learn which: they name their blobs
// with a key of their own (e.g. `photos/<name>`, `records/<id>/<attachment id>`) and keep it in their rows.

export interface StoredBlob {
  bytes: Buffer;
  contentType: string;
}

export interface BlobStore {
  /** Stores the bytes under the key, replacing what was there. Throws past the store's size limit. */
  put(key: string, bytes: Buffer, contentType: string): Promise<void>;
  /** The bytes under the key, or null when there are none. */
  get(key: string): Promise<StoredBlob | null>;
  /** Removes the key; removing a missing key is not an error. */
  delete(key: string): Promise<void>;
}
