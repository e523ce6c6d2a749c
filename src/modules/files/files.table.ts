import type { Generated } from 'kysely';

/** Uploaded bytes every instance shares (the Postgres blob store). */
export interface BlobsTable {
  key: string;
  contentType: string;
  bytes: Buffer;
  size: number;
  /** When these bytes were stored (a replacing put resets it). */
  createdAt: Generated<Date>;
}

export interface FilesTables {
  blobs: BlobsTable;
}
