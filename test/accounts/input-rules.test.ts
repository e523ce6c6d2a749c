// What a new password, a name and a date of birth must be, wherever they are entered; a refusal is a 400 that
// names the field and changes nothing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

function assertRefused(res: LightMyRequestResponse, field: string, what: string) {
  assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
  const body = res.json();
  assert.equal(body.code, 'VALIDATION_FAILED', what);
  assert.equal(body.statusCode, 400);
  assert.match(JSON.stringify(body.details ?? body.message), new RegExp(field), `${what} names ${field}`);
}

async function accountCount(app: FastifyInstance, email: string): Promise<number> {
  const rows = await app.db.selectFrom('users').select('id').where('email', '=', email).execute();
  return rows.length;
}

const BLANK_NAMES = ['   ', '\u200B\u200B', ' \u200C\u200D\uFEFF ', '\u2060', '\u00A0\u3000'];

for (const backend of await databaseBackends()) {
  describe(`password, name and date-of-birth rules [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('registration refuses common, sequential and personal passwords, and stores nothing', async () => {
      const { app } = shared.current;
      const email = uniqueEmail('weak');
      const local = email.split('@')[0];
      for (const password of ['password', '12345678', 'Password1', 'qwertyuiop', 'aaaaaaaa', email, local]) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/auth/register',
          payload: { email, password, name: 'Weak Password' },
        });
        assertRefused(res, 'body.password', password);
      }
      assert.equal(await accountCount(app, email), 0);
      const fine = await app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { email, password: 'a long walk to the river', name: 'Strong Password' },
      });
      assert.equal(fine.statusCode, 201, 'a passphrase nobody guesses is accepted');
    });

    test('registration refuses a name of spaces or zero-width characters; Bengali names pass', async () => {
      const { app } = shared.current;
      for (const name of BLANK_NAMES) {
        const email = uniqueEmail('blank');
        const res = await app.inject({
          method: 'POST',
          url: '/v1/auth/register',
          payload: { email, password: PASSWORD, name },
        });
        assertRefused(res, 'name', JSON.stringify(name));
        assert.equal(await accountCount(app, email), 0);
      }
      const bengali = await app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { email: uniqueEmail('bn'), password: PASSWORD, name: 'করিম হোসেন' },
      });
      assert.equal(bengali.statusCode, 201);
    });

    test('PATCH /me refuses a common new password and a blank name, changing nothing', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient', { name: 'Keeps Name' });
      const weak = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: user.auth,
        payload: { password: '123456789', currentPassword: PASSWORD },
      });
      assertRefused(weak, 'body.password', 'common new password');
      const own = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: user.auth,
        payload: { password: user.email.toUpperCase(), currentPassword: PASSWORD },
      });
      assertRefused(own, 'body.password', 'the e-mail as password');
      const blank = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: user.auth,
        payload: { name: '\u200B ' },
      });
      assertRefused(blank, 'name', 'blank name');
      const login = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: user.email, password: PASSWORD },
      });
      assert.equal(login.statusCode, 200, 'the old password still works');
      assert.equal(login.json().user.name, 'Keeps Name');
    });

    test('dependents refuse blank names and dates of birth in the future or before 1900', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const add = (payload: object) =>
        app.inject({ method: 'POST', url: '/v1/me/dependents', headers: user.auth, payload });
      assertRefused(await add({ name: '  ', relation: 'child' }), 'name', 'blank dependent name');
      assertRefused(
        await add({ name: 'Future Child', relation: 'child', dateOfBirth: '2999-01-01' }),
        'dateOfBirth',
        'born in 2999',
      );
      const tomorrowYear = new Date().getUTCFullYear() + 1;
      assertRefused(
        await add({ name: 'Next Year', relation: 'child', dateOfBirth: `${tomorrowYear}-06-01` }),
        'dateOfBirth',
        'born next year',
      );
      assertRefused(
        await add({ name: 'Very Old', relation: 'parent', dateOfBirth: '1850-03-02' }),
        'dateOfBirth',
        'born in 1850',
      );
      const list = await app.inject({ url: '/v1/me/dependents', headers: user.auth });
      assert.deepEqual(list.json().items, [], 'nothing was stored');
      const ok = await add({ name: 'Real Child', relation: 'child', dateOfBirth: '2019-04-05' });
      assert.equal(ok.statusCode, 201);
      const edit = await app.inject({
        method: 'PATCH',
        url: `/v1/me/dependents/${ok.json().id}`,
        headers: user.auth,
        payload: { dateOfBirth: '2999-12-31' },
      });
      assertRefused(edit, 'dateOfBirth', 'edited to 2999');
      const again = await app.inject({ url: '/v1/me/dependents', headers: user.auth });
      assert.equal(again.json().items[0].dateOfBirth, '2019-04-05');
    });

    test('an admin creating an account is held to the same password and name rules', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const create = (payload: object) =>
        app.inject({ method: 'POST', url: '/v1/admin/users', headers: admin.auth, payload });
      const email = uniqueEmail('staffer');
      assertRefused(
        await create({ email, password: 'iloveyou', name: 'New Admin', role: 'admin' }),
        'body.password',
        'common password',
      );
      assertRefused(
        await create({ email, password: PASSWORD, name: '\uFEFF\u200B', role: 'admin' }),
        'name',
        'blank name',
      );
      assert.equal(await accountCount(app, email), 0);
    });

    test('the desk registering a patient refuses a blank name and a date of birth before 1900', async () => {
      const { app } = shared.current;
      const hospital = await app.db
        .insertInto('hospitals')
        .values({ name: 'Rules Hospital', city: 'Dhaka', address: 'Road 1', timezone: 'Asia/Dhaka' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const staff = await makeUser(app, 'staff', { hospitalId: hospital.id });
      const register = (payload: object) =>
        app.inject({ method: 'POST', url: '/v1/patients', headers: staff.auth, payload });
      const email = uniqueEmail('walkin');
      assertRefused(await register({ name: '\u200B', email }), 'name', 'blank walk-in name');
      assertRefused(
        await register({ name: 'Walk In', email, dateOfBirth: '1800-01-01' }),
        'dateOfBirth',
        'walk-in born in 1800',
      );
      assert.equal(await accountCount(app, email), 0);
      const ok = await register({ name: 'Walk In', email, dateOfBirth: '1990-01-01' });
      assert.equal(ok.statusCode, 201, ok.body);
    });
  });
}
