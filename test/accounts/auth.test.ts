import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

for (const backend of await databaseBackends()) {
  describe(`auth [${backend}]`, () => {
    test('a patient registers, signs in and reads /me with a self profile', async (t) => {
      const { app } = await buildTestApp(t, { backend });
      const email = uniqueEmail('pat');
      const reg = await app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { email, password: PASSWORD, name: 'Nadia Islam', phone: '01711-000002' },
      });
      assert.equal(reg.statusCode, 201);
      const body = reg.json();
      assert.equal(body.user.role, 'patient');
      assert.equal(body.user.phone, '+8801711000002');
      assert.ok(body.user.profileId);
      const me = await app.inject({
        url: '/v1/me',
        headers: { authorization: `Bearer ${body.accessToken}` },
      });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().email, email);
      const login = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: email.toUpperCase(), password: PASSWORD },
      });
      assert.equal(login.statusCode, 200, 'e-mail is matched case-insensitively');
    });
  });
}
