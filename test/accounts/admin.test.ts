import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, type TestUser, uniqueEmail } from '../helpers/users.js';

async function addHospital(app: FastifyInstance, name = 'Admin Test Hospital'): Promise<string> {
  const row = await app.db
    .insertInto('hospitals')
    .values({ name, city: 'Chattogram', timezone: 'Asia/Dhaka' })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

function createUser(app: FastifyInstance, admin: TestUser, payload: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/v1/admin/users', headers: admin.auth, payload });
}

for (const backend of await databaseBackends()) {
  describe(`admin users and audit [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('an admin creates staff (with a hospital), a doctor and another admin; each can sign in', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const hospitalId = await addHospital(app);
      const staff = await createUser(app, admin, {
        email: uniqueEmail('staff'),
        password: PASSWORD,
        name: 'Desk One',
        role: 'staff',
        hospitalId,
      });
      assert.equal(staff.statusCode, 201);
      assert.equal(staff.json().role, 'staff');
      assert.equal(staff.json().hospitalId, hospitalId);
      const doctor = await createUser(app, admin, {
        email: uniqueEmail('doc'),
        password: PASSWORD,
        name: 'Dr. Made',
        role: 'doctor',
        licenseNo: 'ADM-LIC-1',
      });
      assert.equal(doctor.statusCode, 201);
      assert.ok(doctor.json().doctorId);
      const other = await createUser(app, admin, {
        email: uniqueEmail('adm'),
        password: PASSWORD,
        name: 'Second Admin',
        role: 'admin',
      });
      assert.equal(other.statusCode, 201);
      for (const created of [staff, doctor, other]) {
        const login = await app.inject({
          method: 'POST',
          url: '/v1/auth/login',
          payload: { email: created.json().email, password: PASSWORD },
        });
        assert.equal(login.statusCode, 200);
        assert.equal(login.json().user.role, created.json().role);
      }
    });

    test('staff without a hospital, or with an unknown one, is refused and nothing is stored', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const email = uniqueEmail('staff');
      const none = await createUser(app, admin, {
        email,
        password: PASSWORD,
        name: 'No Hosp',
        role: 'staff',
      });
      assert.equal(none.statusCode, 400);
      assert.equal(none.json().details[0].field, 'body.hospitalId');
      const unknown = await createUser(app, admin, {
        email,
        password: PASSWORD,
        name: 'No Hosp',
        role: 'staff',
        hospitalId: '00000000-0000-4000-8000-000000000000',
      });
      assert.equal(unknown.statusCode, 400);
      assert.equal(unknown.json().details[0].field, 'body.hospitalId');
      const found = await app.db.selectFrom('users').select('id').where('email', '=', email).execute();
      assert.equal(found.length, 0);
    });

    test('admin creation refuses patients and duplicate e-mails', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const patient = await createUser(app, admin, {
        email: uniqueEmail(),
        password: PASSWORD,
        name: 'P',
        role: 'patient',
      });
      assert.equal(patient.statusCode, 400);
      const dup = await createUser(app, admin, {
        email: admin.email.toUpperCase(),
        password: PASSWORD,
        name: 'Dup',
        role: 'admin',
      });
      assert.equal(dup.statusCode, 409);
      assert.equal(dup.json().code, 'CONFLICT');
    });

    test('the user list pages with a cursor, filters by role and searches', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const tag = `pager${Date.now()}`;
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await makeUser(app, 'patient', { name: `${tag} ${i}` })).id);
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `role=patient&q=${tag}&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
        const res = await app.inject({ url: `/v1/admin/users?${query}`, headers: admin.auth });
        assert.equal(res.statusCode, 200);
        const body = res.json();
        assert.ok(body.items.length <= 2);
        for (const item of body.items) {
          assert.equal(item.role, 'patient');
          seen.push(item.id);
        }
        cursor = body.nextCursor;
        pages++;
      } while (cursor && pages < 10);
      assert.equal(pages, 3);
      assert.deepEqual(seen, [...made].reverse(), 'newest first, each exactly once');
      const bad = await app.inject({ url: '/v1/admin/users?cursor=not-a-cursor', headers: admin.auth });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'VALIDATION_FAILED');
      const tooMany = await app.inject({ url: '/v1/admin/users?limit=1000', headers: admin.auth });
      assert.equal(tooMany.statusCode, 400);
      assert.equal(tooMany.json().details[0].field, 'querystring.limit');
    });

    test('pages stay exact for users created within one millisecond', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const tag = `samems${Date.now()}`;
      // Microseconds apart: a cursor holding a JS Date (milliseconds) would skip some of these.
      for (const micros of ['123100', '123400', '123400', '123900']) {
        await app.db
          .insertInto('users')
          .values({
            email: uniqueEmail(),
            passwordHash: 'x',
            name: tag,
            role: 'patient',
            createdAt: `2024-05-01 10:00:00.${micros}+00`,
          })
          .execute();
      }
      const seen = new Set<string>();
      let cursor: string | null = null;
      for (let page = 0; page < 4; page++) {
        const res: LightMyRequestResponse = await app.inject({
          url: `/v1/admin/users?q=${tag}&limit=1${cursor ? `&cursor=${cursor}` : ''}`,
          headers: admin.auth,
        });
        for (const item of res.json().items) seen.add(item.id);
        cursor = res.json().nextCursor;
      }
      assert.equal(seen.size, 4);
      assert.equal(cursor, null);
    });

    test('PATCH changes role, hospital and name; audit entries record each admin action', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const hospitalId = await addHospital(app, 'Role Change Hospital');
      const user = await makeUser(app, 'patient');
      const toStaffWithout = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: admin.auth,
        payload: { role: 'staff' },
      });
      assert.equal(toStaffWithout.statusCode, 400, 'staff need a hospital');
      const toStaff = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: admin.auth,
        payload: { role: 'staff', hospitalId, name: 'Now Staff' },
      });
      assert.equal(toStaff.statusCode, 200);
      assert.equal(toStaff.json().role, 'staff');
      assert.equal(toStaff.json().hospitalId, hospitalId);
      assert.equal(toStaff.json().name, 'Now Staff');
      const me = await app.inject({ url: '/v1/me', headers: user.auth });
      assert.equal(me.json().role, 'staff', 'a role change takes effect at once');

      const audit = await app.inject({ url: '/v1/admin/audit?limit=100', headers: admin.auth });
      assert.equal(audit.statusCode, 200);
      const mine = audit
        .json()
        .items.filter(
          (e: { actorId: string; targetId: string }) => e.actorId === admin.id && e.targetId === user.id,
        );
      assert.equal(mine.length, 1, 'the refused change wrote no entry');
      assert.equal(mine[0].action, 'user.update');
      assert.deepEqual(mine[0].details, { role: 'staff', hospitalId, name: 'Now Staff' });
      assert.ok(!Number.isNaN(Date.parse(mine[0].at)));
    });

    test('creating a user writes an audit entry; the audit list pages', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await createUser(app, admin, {
          email: uniqueEmail('adm'),
          password: PASSWORD,
          name: `Audit ${i}`,
          role: 'admin',
        });
        ids.push(res.json().id);
      }
      const first = (await app.inject({ url: '/v1/admin/audit?limit=2', headers: admin.auth })).json();
      assert.equal(first.items.length, 2);
      assert.ok(first.nextCursor);
      const second = (
        await app.inject({ url: `/v1/admin/audit?limit=2&cursor=${first.nextCursor}`, headers: admin.auth })
      ).json();
      assert.ok(second.items[0].id < first.items[1].id, 'the next page continues below the last id');
      const entries = [...first.items, ...second.items].filter(
        (e: { action: string }) => e.action === 'user.create',
      );
      assert.deepEqual(
        entries.map((e: { targetId: string }) => e.targetId),
        [...ids].reverse().slice(0, entries.length),
      );
      assert.ok(entries.length >= 3);
    });

    test('an admin cannot disable or demote themself; an unknown id answers 404', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      for (const payload of [{ disabled: true }, { role: 'patient' }]) {
        const res = await app.inject({
          method: 'PATCH',
          url: `/v1/admin/users/${admin.id}`,
          headers: admin.auth,
          payload,
        });
        assert.equal(res.statusCode, 409);
      }
      const missing = await app.inject({
        method: 'PATCH',
        url: '/v1/admin/users/00000000-0000-4000-8000-000000000001',
        headers: admin.auth,
        payload: { name: 'Nobody' },
      });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json().code, 'NOT_FOUND');
    });
  });
}
