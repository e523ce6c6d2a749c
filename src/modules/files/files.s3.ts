// The blob store on an S3-compatible bucket (AWS S3, MinIO, Ceph, ...): used whenever S3_ENDPOINT and
// S3_BUCKET are set. The bucket must exist; objects are named by the blob key as it is.
import {
  DeleteObjectCommand,
  GetObjectCommand,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import {
  type BlobStore,
  checkBlobKey,
  checkBlobPut,
  MAX_BLOB_BYTES,
  type StoredBlob,
} from './files.store.js';

export interface S3BlobStoreOptions {
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Per-request bound, so a bucket that stops answering fails the request instead of hanging it. @default 10000 */
  timeoutMs?: number;
  limit?: number;
}

export class S3BlobStore implements BlobStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly limit: number;
  private readonly timeoutMs: number;

  constructor(options: S3BlobStoreOptions) {
    this.bucket = options.bucket;
    this.limit = options.limit ?? MAX_BLOB_BYTES;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.client = new S3Client({
      endpoint: options.endpoint,
      region: options.region,
      // Self-hosted S3 servers serve buckets under the path, not as subdomains.
      forcePathStyle: true,
      maxAttempts: 2,
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
    });
  }

  async put(key: string, bytes: Buffer, contentType: string): Promise<void> {
    checkBlobPut(key, bytes, contentType, this.limit);
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType,
        ContentLength: bytes.length,
      }),
      { abortSignal: AbortSignal.timeout(this.timeoutMs) },
    );
  }

  async get(key: string): Promise<StoredBlob | null> {
    checkBlobKey(key);
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
        abortSignal: AbortSignal.timeout(this.timeoutMs),
      });
      const bytes = Buffer.from((await object.Body?.transformToByteArray()) ?? []);
      return { bytes, contentType: object.ContentType ?? 'application/octet-stream' };
    } catch (err) {
      if (err instanceof NoSuchKey) return null;
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) return null;
      throw err;
    }
  }

  async delete(key: string): Promise<void> {
    checkBlobKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }), {
      abortSignal: AbortSignal.timeout(this.timeoutMs),
    });
  }

  /** Closes the client's sockets. */
  close(): void {
    this.client.destroy();
  }
}
