import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { DiskBlobStore } from '../../src/modules/files/files.disk.js';
import { PostgresBlobStore } from '../../src/modules/files/files.postgres.js';
import { S3BlobStore } from '../../src/modules/files/files.s3.js';
import { createBlobStore } from '../../src/modules/files/files.setup.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { startLocalS3 } from '../helpers/s3.js';
import { skipWithout } from '../helpers/services.js';
import { blobStoreContract } from './store.contract.js';

const skipPostgres = await skipWithout('postgres');

for (const backend of ['postgres', 'pglite'] as const) {
  blobStoreContract(
    `postgres table on ${backend}`,
    async () => {
      const database = await freshDatabase(backend);
      return {
        store: new PostgresBlobStore(database.handle.db),
        close: async () => {
          await database.handle.db.destroy();
          await database.cleanup();
        },
      };
    },
    { skip: backend === 'postgres' ? skipPostgres : false },
  );
}

blobStoreContract('disk', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'cq-blobs-'));
  return { store: new DiskBlobStore(dir), close: () => rm(dir, { recursive: true, force: true }) };
});

blobStoreContract('s3 (s3rver)', async () => {
  const s3 = await startLocalS3();
  const store = new S3BlobStore({
    endpoint: s3.endpoint,
    bucket: s3.bucket,
    region: 'us-east-1',
    ...credentials(s3.env),
  });
  return {
    store,
    close: async () => {
      store.close();
      await s3.stop();
    },
  };
});

function credentials(env: Record<string, string>) {
  return { accessKeyId: env.S3_ACCESS_KEY_ID, secretAccessKey: env.S3_SECRET_ACCESS_KEY };
}

describe('blob store choice', () => {
  const base = { JWT_SECRET: TEST_JWT_SECRET, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
  const database = { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/none', ...base };
  const noDb = {} as never;

  test('S3 when S3_ENDPOINT and S3_BUCKET are set, else Postgres with DATABASE_URL, else disk', () => {
    const s3 = createBlobStore(
      loadConfig({ ...database, S3_ENDPOINT: 'http://127.0.0.1:9', S3_BUCKET: 'files' }),
      noDb,
    );
    assert.equal(s3.kind, 's3');
    s3.close();
    assert.equal(createBlobStore(loadConfig(database), noDb).kind, 'postgres');
    assert.equal(createBlobStore(loadConfig({ ...base, DATA_DIR: tmpdir() }), noDb).kind, 'disk');
  });

  test('S3_ENDPOINT without S3_BUCKET (or a key id without its secret) is a configuration error', () => {
    assert.throws(() => loadConfig({ ...database, S3_ENDPOINT: 'http://127.0.0.1:9' }), /S3_BUCKET/);
    assert.throws(
      () => loadConfig({ ...database, S3_ENDPOINT: 'http://x:9', S3_BUCKET: 'files', S3_ACCESS_KEY_ID: 'k' }),
      /S3_SECRET_ACCESS_KEY/,
    );
  });

  test('the disk store writes under its own directory only and leaves no temporary files', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'cq-blobs-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const store = new DiskBlobStore(join(dir, 'blobs'));
    await store.put('photos/dr-a.png', Buffer.from('png'), 'image/png');
    assert.deepEqual(await readdir(dir), ['blobs']);
    assert.deepEqual(await readdir(join(dir, 'blobs', 'photos')), ['dr-a.png']);
    assert.deepEqual(await readdir(join(dir, 'blobs', '.tmp')), []);
  });
});
