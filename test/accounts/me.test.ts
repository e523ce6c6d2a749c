import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD } from '../helpers/users.js';

for (const backend of await databaseBackends()) {
  describe(`me and dependents [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('PATCH /me changes name and phone (normalised) and keeps the self profile in step', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const res = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: user.auth,
        payload: { name: 'Renamed Person', phone: '01911 000 333' },
      });
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().name, 'Renamed Person');
      assert.equal(res.json().phone, '+8801911000333');
      const profile = await app.db
        .selectFrom('patientProfiles')
        .select(['name', 'phone'])
        .where('id', '=', user.profileId as string)
        .executeTakeFirstOrThrow();
      assert.deepEqual(profile, { name: 'Renamed Person', phone: '+8801911000333' });
      const cleared = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: user.auth,
        payload: { phone: null },
      });
      assert.equal(cleared.json().phone, null);
    });

    test('PATCH /me refuses a bad phone, an empty body and the e-mail field, changing nothing', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient', { name: 'Stays Same' });
      for (const payload of [{ phone: 'abc' }, {}, { email: 'new@example.test' }, { name: '' }]) {
        const res = await app.inject({ method: 'PATCH', url: '/v1/me', headers: user.auth, payload });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.json().code, 'VALIDATION_FAILED');
      }
      const me = await app.inject({ url: '/v1/me', headers: user.auth });
      assert.equal(me.json().name, 'Stays Same');
      assert.equal(me.json().email, user.email);
    });

    test('a password change needs the current password and revokes refresh tokens', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const missing = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: user.auth,
        payload: { password: 'a brand new password' },
      });
      assert.equal(missing.statusCode, 400);
      assert.equal(missing.json().details[0].field, 'body.currentPassword');
      const wrong = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: user.auth,
        payload: { password: 'a brand new password', currentPassword: 'not it at all' },
      });
      assert.equal(wrong.statusCode, 403);
      assert.equal(wrong.json().code, 'FORBIDDEN');
      const login = (pw: string) =>
        app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: user.email, password: pw } });
      assert.equal((await login(PASSWORD)).statusCode, 200, 'unchanged after refusals');
      const ok = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: user.auth,
        payload: { password: 'a brand new password', currentPassword: PASSWORD },
      });
      assert.equal(ok.statusCode, 200);
      const refresh = await app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: user.refreshToken },
      });
      assert.equal(refresh.statusCode, 401, 'old sessions are signed out');
      assert.equal((await login(PASSWORD)).statusCode, 401);
      assert.equal((await login('a brand new password')).statusCode, 200);
    });

    test('dependents: add, list, update, delete', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const created = await app.inject({
        method: 'POST',
        url: '/v1/me/dependents',
        headers: user.auth,
        payload: { name: 'Little One', relation: 'child', dateOfBirth: '2019-04-02', sex: 'female' },
      });
      assert.equal(created.statusCode, 201);
      const child = created.json();
      assert.equal(child.relation, 'child');
      assert.equal(child.dateOfBirth, '2019-04-02');
      const list = await app.inject({ url: '/v1/me/dependents', headers: user.auth });
      assert.equal(list.statusCode, 200);
      assert.deepEqual(
        list.json().items.map((d: { id: string }) => d.id),
        [child.id],
        'the self profile is not a dependent',
      );
      assert.equal(list.json().nextCursor, null);
      const updated = await app.inject({
        method: 'PATCH',
        url: `/v1/me/dependents/${child.id}`,
        headers: user.auth,
        payload: { name: 'Big One', phone: '+8801711000444' },
      });
      assert.equal(updated.statusCode, 200);
      assert.equal(updated.json().name, 'Big One');
      assert.equal(updated.json().phone, '+8801711000444');
      const removed = await app.inject({
        method: 'DELETE',
        url: `/v1/me/dependents/${child.id}`,
        headers: user.auth,
      });
      assert.equal(removed.statusCode, 204);
      const after = await app.inject({ url: '/v1/me/dependents', headers: user.auth });
      assert.deepEqual(after.json().items, []);
      const again = await app.inject({
        method: 'DELETE',
        url: `/v1/me/dependents/${child.id}`,
        headers: user.auth,
      });
      assert.equal(again.statusCode, 404);
    });

    test("another account's dependent (or self profile) answers 404 and is left alone", async () => {
      const { app } = shared.current;
      const owner = await makeUser(app, 'patient');
      const intruder = await makeUser(app, 'patient');
      const child = (
        await app.inject({
          method: 'POST',
          url: '/v1/me/dependents',
          headers: owner.auth,
          payload: { name: 'Owned Child', relation: 'child' },
        })
      ).json();
      for (const id of [child.id, owner.profileId, intruder.profileId]) {
        const patch = await app.inject({
          method: 'PATCH',
          url: `/v1/me/dependents/${id}`,
          headers: intruder.auth,
          payload: { name: 'Hijacked' },
        });
        assert.equal(patch.statusCode, 404);
        assert.equal(patch.json().code, 'NOT_FOUND');
        const del = await app.inject({
          method: 'DELETE',
          url: `/v1/me/dependents/${id}`,
          headers: intruder.auth,
        });
        assert.equal(del.statusCode, 404);
      }
      const list = await app.inject({ url: '/v1/me/dependents', headers: owner.auth });
      assert.deepEqual(
        list.json().items.map((d: { name: string }) => d.name),
        ['Owned Child'],
      );
      assert.deepEqual(
        (await app.inject({ url: '/v1/me/dependents', headers: intruder.auth })).json().items,
        [],
      );
    });

    test('a dependent with a bad relation, date or phone is refused and not stored', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      for (const payload of [
        { name: 'X', relation: 'self' },
        { name: 'X', relation: 'cousin' },
        { name: 'X', relation: 'child', dateOfBirth: '2019-13-45' },
        { name: 'X', relation: 'child', phone: '999' },
      ]) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/me/dependents',
          headers: user.auth,
          payload,
        });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.json().code, 'VALIDATION_FAILED');
        assert.ok(res.json().details.length > 0);
      }
      assert.deepEqual((await app.inject({ url: '/v1/me/dependents', headers: user.auth })).json().items, []);
    });

    test('GET /me shows doctorId for doctors and hospitalId for staff', async () => {
      const { app } = shared.current;
      const hospital = await app.db
        .insertInto('hospitals')
        .values({ name: 'Me Test Hospital', city: 'Dhaka', timezone: 'Asia/Dhaka' })
        .returning('id')
        .executeTakeFirstOrThrow();
      const doctor = await makeUser(app, 'doctor');
      const staff = await makeUser(app, 'staff', { hospitalId: hospital.id });
      const d = (await app.inject({ url: '/v1/me', headers: doctor.auth })).json();
      assert.equal(d.role, 'doctor');
      assert.ok(d.doctorId);
      const s = (await app.inject({ url: '/v1/me', headers: staff.auth })).json();
      assert.equal(s.role, 'staff');
      assert.equal(s.hospitalId, hospital.id);
    });
  });
}
