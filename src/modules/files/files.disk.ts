// The blob store on local disk (DATA_DIR/blobs): the embedded mode only, where one process serves everything.
// Each file holds its content type on a first line, then the bytes; a put writes a temporary file and renames
// it into place, so a reader sees the old bytes or the new ones, never half of either.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import {
  type BlobStore,
  checkBlobKey,
  checkBlobPut,
  InvalidBlobError,
  MAX_BLOB_BYTES,
  type StoredBlob,
} from './files.store.js';

const NEWLINE = 0x0a;

export class DiskBlobStore implements BlobStore {
  private readonly root: string;

  constructor(
    dir: string,
    private readonly limit = MAX_BLOB_BYTES,
  ) {
    this.root = resolve(dir);
  }

  async put(key: string, bytes: Buffer, contentType: string): Promise<void> {
    checkBlobPut(key, bytes, contentType, this.limit);
    const path = this.pathOf(key);
    // Keys never have a segment starting with '.', so the temporary directory cannot meet one.
    const temp = join(this.root, '.tmp', `${randomBytes(8).toString('hex')}`);
    await mkdir(dirname(temp), { recursive: true });
    await mkdir(dirname(path), { recursive: true });
    await writeFile(temp, Buffer.concat([Buffer.from(`${contentType}\n`), bytes]));
    try {
      await rename(temp, path);
    } catch (err) {
      await rm(temp, { force: true });
      throw err;
    }
  }

  async get(key: string): Promise<StoredBlob | null> {
    let file: Buffer;
    try {
      file = await readFile(this.pathOf(key));
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') return null;
      throw err;
    }
    const end = file.indexOf(NEWLINE);
    return { contentType: file.subarray(0, end).toString(), bytes: file.subarray(end + 1) };
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** The file of a key, checked to lie under the store's directory (the key rule already ensures it). */
  private pathOf(key: string): string {
    checkBlobKey(key);
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep))
      throw new InvalidBlobError(`not a blob key: ${JSON.stringify(key)}`);
    return path;
  }
}
