// The store every instance shares for uploaded bytes (doctor photos, visit-record attachments, ...).
// Postgres (`blobs` table) by default when DATABASE_URL is set, an S3-compatible bucket when S3_ENDPOINT and
// S3_BUCKET are set, local disk only in the embedded mode. Callers never learn which: they name their blobs
// with a key of their own (e.g. `photos/<name>`, `records/<id>/<attachment id>`) and keep it in their rows.
import { AppError } from '../../errors.js';

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

/** The most one blob may hold, in every store (the `blobs` table checks it too). */
export const MAX_BLOB_BYTES = 10 * 1024 * 1024;

/** A put past the store's size limit: answered 413 PAYLOAD_TOO_LARGE if a route lets it through. */
export class BlobTooLargeError extends AppError {
  constructor(
    readonly size: number,
    readonly limit: number,
  ) {
    super('PAYLOAD_TOO_LARGE', `A file may be at most ${limit / 1024 / 1024} MB (this one is ${size} bytes)`);
    this.name = 'BlobTooLargeError';
  }
}

/** A key or content type no store accepts: both come from code, so this is a bug, never a client's mistake. */
export class InvalidBlobError extends Error {
  override name = 'InvalidBlobError';
}

/**
 * Slash-separated segments of letters, digits, '.', '_' and '-', none starting with '.': no '..', no absolute
 * or empty segments, so a key is also a safe relative path on disk and a plain object name in a bucket.
 */
const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const MAX_KEY_LENGTH = 512;
const CONTENT_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+(\s*;\s*[a-z0-9_-]+=[a-z0-9_.-]+)*$/i;

/** Throws InvalidBlobError unless every store can hold the key as it is. */
export function checkBlobKey(key: string): void {
  if (key.length > MAX_KEY_LENGTH || !KEY.test(key)) {
    throw new InvalidBlobError(`not a blob key: ${JSON.stringify(key.slice(0, 80))}`);
  }
}

/** The checks every store makes before writing: key, content type, size. Nothing is written when one fails. */
export function checkBlobPut(key: string, bytes: Buffer, contentType: string, limit = MAX_BLOB_BYTES): void {
  checkBlobKey(key);
  if (!CONTENT_TYPE.test(contentType) || contentType.length > 200) {
    throw new InvalidBlobError(`not a content type: ${JSON.stringify(contentType.slice(0, 80))}`);
  }
  if (bytes.length > limit) throw new BlobTooLargeError(bytes.length, limit);
}
