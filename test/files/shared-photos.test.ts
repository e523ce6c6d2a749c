// Behind a load balancer, a photo uploaded through one instance is served by every other (the blob store is
// shared): two apps on one Postgres database, first with the blobs table, then with an S3 bucket.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { makeDoctor, multipart, PNG } from '../directory/fixtures.js';
import { buildAppOn, buildTestApp } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { startLocalS3 } from '../helpers/s3.js';
import { databaseBackends, skipWithout } from '../helpers/services.js';

async function twoInstances(t: { after(fn: () => unknown): void }, env: Record<string, string> = {}) {
  const database = await createPostgresDatabase();
  const [a, b] = await Promise.all([buildAppOn(database.url, env), buildAppOn(database.url, env)]);
  t.after(async () => {
    await Promise.all([a.close(), b.close()]);
    await database.drop();
  });
  return { a, b };
}

describe('photos every instance serves', { skip: await skipWithout('postgres') }, () => {
  for (const store of ['postgres', 's3'] as const) {
    test(`a photo uploaded on instance A is served by instance B, and a replaced one is gone on both [${store}]`, async (t) => {
      const s3 = store === 's3' ? await startLocalS3() : undefined;
      if (s3) t.after(() => s3.stop());
      const { a, b } = await twoInstances(t, s3?.env);
      const doctor = await makeDoctor(a, 'Dr. Shared Photo');
      const upload = async () => {
        const body = multipart('photo', 'me.png', 'image/png', PNG);
        const res = await a.inject({
          method: 'POST',
          url: `/v1/doctors/${doctor.doctorId}/photo`,
          headers: { ...doctor.auth, ...body.headers },
          payload: body.payload,
        });
        assert.equal(res.statusCode, 200, res.body);
        return res.json().photoUrl as string;
      };
      const first = await upload();
      const served = await b.inject({ url: first });
      assert.equal(served.statusCode, 200);
      assert.equal(served.headers['content-type'], 'image/png');
      assert.deepEqual(served.rawPayload, PNG);
      assert.equal((await b.inject({ url: `/v1/doctors/${doctor.doctorId}` })).json().photoUrl, first);

      const rows = await a.db.selectFrom('blobs').select('key').execute();
      assert.deepEqual(
        rows.map((r) => r.key),
        store === 'postgres' ? [`photos/${first.split('/').pop()}`] : [],
        'the bytes live in the configured store only',
      );

      const second = await upload();
      assert.notEqual(second, first);
      for (const app of [a, b]) {
        assert.equal((await app.inject({ url: first })).statusCode, 404);
        assert.equal((await app.inject({ url: second })).statusCode, 200);
      }
    });
  }
});

for (const backend of await databaseBackends()) {
  test(`photos an earlier release kept in DATA_DIR/uploads move into the blob store and keep their URLs [${backend}]`, async (t) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cq-legacy-'));
    t.after(() => rmSync(dataDir, { recursive: true, force: true }));
    mkdirSync(join(dataDir, 'uploads'));
    writeFileSync(join(dataDir, 'uploads', 'dr-old-0123456789ab.png'), PNG);
    writeFileSync(
      join(dataDir, 'uploads', 'dr-old-0123456789ab.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg"/>',
    );
    const { app } = await buildTestApp(t, { backend, env: { DATA_DIR: dataDir } });
    const png = await app.inject({ url: '/v1/photos/dr-old-0123456789ab.png' });
    assert.equal(png.statusCode, 200);
    assert.equal(png.headers['content-type'], 'image/png');
    assert.deepEqual(png.rawPayload, PNG);
    const svg = await app.inject({ url: '/v1/photos/dr-old-0123456789ab.svg' });
    assert.equal(svg.headers['content-type'], 'image/svg+xml');
    assert.equal(existsSync(join(dataDir, 'uploads')), false, 'the old directory is emptied and removed');
  });
}
