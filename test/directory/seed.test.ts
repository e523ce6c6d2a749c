import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { DEMO_LOGINS, DEMO_PASSWORD, seedDemo } from '../../src/seed.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';

for (const backend of await databaseBackends()) {
  describe(`demo directory [${backend}]`, () => {
    test('the demo seed lists hospitals and verified doctors with avatars; dr.rahman still signs in', async (t) => {
      const dataDir = mkdtempSync(join(tmpdir(), 'cq-seed-'));
      t.after(() => rmSync(dataDir, { recursive: true, force: true }));
      const { app } = await buildTestApp(t, { backend, env: { DATA_DIR: dataDir } });
      assert.equal(await seedDemo(app), true);

      const doctors = (await app.inject({ url: '/v1/doctors?limit=100' })).json().items;
      assert.ok(doctors.length >= 8, `${doctors.length} doctors`);
      const rahman = (await app.inject({ url: '/v1/doctors?q=Rahmn' })).json().items[0];
      assert.equal(rahman.name, 'Dr. Ayesha Rahman');
      const profile = (await app.inject({ url: `/v1/doctors/${rahman.id}` })).json();
      assert.equal(profile.verified, true);
      assert.ok(profile.qualifications.some((q: { name: string }) => q.name === 'FCPS'));
      const avatar = await app.inject({ url: profile.photoUrl });
      assert.equal(avatar.statusCode, 200);
      assert.equal(avatar.headers['content-type'], 'image/svg+xml');
      assert.match(avatar.body, /<svg[^>]*>.*AR<\/text>/);

      const dhaka = (await app.inject({ url: '/v1/hospitals?city=Dhaka' })).json().items;
      const ctg = (await app.inject({ url: '/v1/hospitals?city=Chattogram' })).json().items;
      assert.ok(dhaka.length >= 2 && ctg.length >= 2);
      assert.ok(
        (await app.inject({ url: '/v1/doctors?city=Chattogram&specialization=Cardiology' })).json().items
          .length >= 1,
      );
      for (const table of ['specializations', 'qualifications', 'services']) {
        assert.ok((await app.inject({ url: `/v1/${table}` })).json().items.length >= 5, table);
      }
      const login = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: DEMO_LOGINS[2].email, password: DEMO_PASSWORD },
      });
      assert.equal(login.statusCode, 200);
      assert.equal(login.json().user.doctorId, rahman.id);
    });
  });
}
