// GET /v1/admin/doctors: the admin's list of doctors, unverified ones included, for deciding on verification.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { insertCatalog } from '../helpers/clinic.js';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, type TestUser } from '../helpers/users.js';
import { makeDoctor } from './fixtures.js';

interface AdminDoctor {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  licenseNo: string | null;
  experienceYears: number | null;
  photoUrl: string | null;
  specializations: { id: string; name: string }[];
  qualifications: { qualificationId: string; name: string; institute: string; year: number | null }[];
  createdAt: string;
  verifiedAt: string | null;
}

interface PageBody {
  items: AdminDoctor[];
  nextCursor: string | null;
}

/** A word no other test's doctors carry, so a `q` filter isolates this test's rows in the shared app. */
const tag = () => `Tag${randomBytes(4).toString('hex')}`;

/** A doctor written straight to the tables with a chosen registration time (microseconds kept). */
async function insertDoctorAt(
  app: FastifyInstance,
  name: string,
  createdAt: string,
  verified = false,
): Promise<string> {
  const user = await app.db
    .insertInto('users')
    .values({
      email: `doc-${randomBytes(6).toString('hex')}@example.test`,
      passwordHash: 'x',
      role: 'doctor',
      name,
      phone: null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const doctor = await app.db
    .insertInto('doctors')
    .values({ userId: user.id, name, licenseNo: null, verifiedAt: verified ? new Date() : null, createdAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  return doctor.id;
}

for (const backend of await databaseBackends()) {
  describe(`admin doctor list [${backend}]`, () => {
    const shared = sharedTestApp({ backend });
    let admin: TestUser | undefined;
    const adminAuth = async () => {
      admin ??= await makeUser(shared.current.app, 'admin');
      return admin.auth;
    };
    const list = async (query: string): Promise<PageBody> => {
      const res = await shared.current.app.inject({
        url: `/v1/admin/doctors?${query}`,
        headers: await adminAuth(),
      });
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    /** Every page of a query, following nextCursor (from `start` when given). */
    const allPages = async (query: string, start: string | null = null): Promise<AdminDoctor[][]> => {
      const pages: AdminDoctor[][] = [];
      let cursor = start;
      do {
        const page = await list(`${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        pages.push(page.items);
        cursor = page.nextCursor;
        assert.ok(pages.length < 50, 'the list ends');
      } while (cursor);
      return pages;
    };

    test('only admins may list: 401 without a token, 403 for patients, staff and doctors', async () => {
      const { app } = shared.current;
      const anonymous = await app.inject({ url: '/v1/admin/doctors' });
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.json().code, 'UNAUTHENTICATED');
      for (const role of ['patient', 'staff', 'doctor'] as const) {
        const user = await makeUser(app, role);
        const res = await app.inject({ url: '/v1/admin/doctors', headers: user.auth });
        assert.equal(res.statusCode, 403, `${role}: ${res.body}`);
        assert.equal(res.json().code, 'FORBIDDEN');
      }
      const ok = await app.inject({ url: '/v1/admin/doctors', headers: await adminAuth() });
      assert.equal(ok.statusCode, 200);
    });

    test('verified=false lists only those waiting, verified=true only verified ones, no filter both', async () => {
      const { app } = shared.current;
      const t = tag();
      const pending = await makeDoctor(app, `Dr. Pending ${t}`, { verified: false, licenseNo: `P-${t}` });
      const listed = await makeDoctor(app, `Dr. Listed ${t}`, { licenseNo: `L-${t}` });

      const waiting = await list(`verified=false&q=${t}`);
      assert.deepEqual(
        waiting.items.map((d) => d.id),
        [pending.doctorId],
      );
      assert.equal(waiting.items[0].verifiedAt, null);
      assert.equal(waiting.nextCursor, null);

      const verified = await list(`verified=true&q=${t}`);
      assert.deepEqual(
        verified.items.map((d) => d.id),
        [listed.doctorId],
      );
      assert.ok(verified.items[0].verifiedAt && !Number.isNaN(Date.parse(verified.items[0].verifiedAt)));

      const all = await list(`q=${t}`);
      assert.deepEqual(all.items.map((d) => d.id).sort(), [pending.doctorId, listed.doctorId].sort());

      // Across the whole list (other tests' doctors too) the filter holds for every row.
      for (const page of await allPages('verified=false&limit=100'))
        for (const d of page) assert.equal(d.verifiedAt, null, d.name);
    });

    test('each row carries what an admin checks: contact, licence, experience, specializations, qualifications', async () => {
      const { app } = shared.current;
      const t = tag();
      const doctor = await makeUser(app, 'doctor', {
        name: `Dr. Full ${t}`,
        phone: '+8801711000111',
        licenseNo: `BMDC-${t}`,
        verified: false,
      });
      const cardiology = await insertCatalog(app, 'specializations', `Cardiology ${t}`);
      const fcps = await insertCatalog(app, 'qualifications', `FCPS ${t}`);
      const edit = await app.inject({
        method: 'PATCH',
        url: `/v1/doctors/${doctor.doctorId}`,
        headers: doctor.auth,
        payload: {
          experienceYears: 12,
          specializationIds: [cardiology],
          qualifications: [{ qualificationId: fcps, institute: 'BCPS', year: 2015 }],
        },
      });
      assert.equal(edit.statusCode, 200, edit.body);

      const page = await list(`verified=false&q=${t}`);
      assert.equal(page.items.length, 1);
      const row = page.items[0];
      assert.equal(row.id, doctor.doctorId);
      assert.equal(row.name, `Dr. Full ${t}`);
      assert.equal(row.email, doctor.email);
      assert.equal(row.phone, '+8801711000111');
      assert.equal(row.licenseNo, `BMDC-${t}`);
      assert.equal(row.experienceYears, 12);
      assert.equal(row.photoUrl, null);
      assert.deepEqual(row.specializations, [{ id: cardiology, name: `Cardiology ${t}` }]);
      assert.deepEqual(row.qualifications, [
        { qualificationId: fcps, name: `FCPS ${t}`, institute: 'BCPS', year: 2015 },
      ]);
      assert.ok(Math.abs(Date.parse(row.createdAt) - Date.now()) < 60_000, row.createdAt);
      assert.equal(row.verifiedAt, null);
    });

    test('q matches part of the name, e-mail or licence number, ignoring case; LIKE wildcards are literal', async () => {
      const { app } = shared.current;
      const t = tag();
      const byName = await makeDoctor(app, `Dr. Nasreen ${t}`, { verified: false });
      const byLicence = await makeDoctor(app, 'Dr. Someone Else', {
        licenseNo: `BMDC-${t}-77`,
        verified: false,
      });
      const other = await makeDoctor(app, 'Dr. Unrelated', { verified: false });

      const ids = async (q: string) =>
        (await list(`q=${encodeURIComponent(q)}&limit=100`)).items.map((d) => d.id);
      assert.deepEqual((await ids(t.toUpperCase())).sort(), [byName.doctorId, byLicence.doctorId].sort());
      assert.deepEqual(await ids(`nasreen ${t.toLowerCase()}`), [byName.doctorId]);
      assert.deepEqual(await ids(`bmdc-${t.toLowerCase()}-7`), [byLicence.doctorId]);
      const emailPart = other.email.split('@')[0].toUpperCase();
      assert.deepEqual(await ids(emailPart), [other.doctorId]);
      assert.deepEqual(await ids(`${t}%`), [], 'a % in q matches a percent sign, not anything');
      assert.deepEqual(await ids(`Dr._Nasreen ${t}`), [], 'an _ in q matches an underscore only');
    });

    test('newest registration first; pages neither repeat nor skip, even within one millisecond or when doctors register meanwhile', async () => {
      const { app } = shared.current;
      const t = tag();
      // Registration times that differ only in microseconds, and two that are equal (the id breaks the tie).
      const times = [
        '2026-02-01T09:00:00.000001Z',
        '2026-02-01T09:00:00.000002Z',
        '2026-02-01T09:00:00.000003Z',
        '2026-02-01T09:00:00.000003Z',
        '2026-02-01T09:00:00.000900Z',
        '2026-02-01T09:00:01.000000Z',
        '2026-01-31T23:59:59.999999Z',
      ];
      const inserted: string[] = [];
      for (const [i, at] of times.entries())
        inserted.push(await insertDoctorAt(app, `Dr. Page${i} ${t}`, at));
      await insertDoctorAt(app, `Dr. Verified ${t}`, '2026-02-01T09:00:00.000002Z', true);

      const whole = await list(`verified=false&q=${t}&limit=100`);
      assert.equal(whole.items.length, times.length);
      assert.equal(whole.nextCursor, null);
      // Newest first by the microsecond; the equal pair by id, higher first.
      const tied = [inserted[2], inserted[3]].sort().reverse();
      assert.deepEqual(
        whole.items.map((d) => d.id),
        [inserted[5], inserted[4], ...tied, inserted[1], inserted[0], inserted[6]],
      );

      for (const limit of [1, 2, 3]) {
        const pages = await allPages(`verified=false&q=${t}&limit=${limit}`);
        for (const page of pages) assert.ok(page.length <= limit);
        assert.deepEqual(
          pages.flat().map((d) => d.id),
          whole.items.map((d) => d.id),
          `limit ${limit}: the pages together are the whole list, in order`,
        );
      }

      // A doctor registering between two page reads lands on the first page's side: later pages are unmoved.
      const first = await list(`verified=false&q=${t}&limit=3`);
      await insertDoctorAt(app, `Dr. Newcomer ${t}`, new Date().toISOString());
      assert.ok(first.nextCursor);
      const rest = (await allPages(`verified=false&q=${t}&limit=3`, first.nextCursor)).flat();
      assert.deepEqual(
        [...first.items, ...rest].map((d) => d.id),
        whole.items.map((d) => d.id),
      );
    });

    test('verifying a doctor moves them from the waiting list to the verified one', async () => {
      const { app } = shared.current;
      const t = tag();
      const doctor = await makeDoctor(app, `Dr. Soon Verified ${t}`, { verified: false });
      const other = await makeDoctor(app, `Dr. Still Waiting ${t}`, { verified: false });
      assert.deepEqual(
        (await list(`verified=false&q=${t}`)).items.map((d) => d.id).sort(),
        [doctor.doctorId, other.doctorId].sort(),
      );

      const verify = await app.inject({
        method: 'POST',
        url: `/v1/doctors/${doctor.doctorId}/verify`,
        headers: await adminAuth(),
      });
      assert.equal(verify.statusCode, 200, verify.body);

      assert.deepEqual(
        (await list(`verified=false&q=${t}`)).items.map((d) => d.id),
        [other.doctorId],
      );
      const verified = await list(`verified=true&q=${t}`);
      assert.deepEqual(
        verified.items.map((d) => d.id),
        [doctor.doctorId],
      );
      assert.ok(verified.items[0].verifiedAt);

      const withdraw = await app.inject({
        method: 'POST',
        url: `/v1/doctors/${doctor.doctorId}/verify`,
        headers: await adminAuth(),
        payload: { verified: false },
      });
      assert.equal(withdraw.statusCode, 200, withdraw.body);
      assert.equal((await list(`verified=false&q=${t}`)).items.length, 2);
    });

    test('malformed limit, cursor or verified answer 400 VALIDATION_FAILED naming the field', async () => {
      const { app } = shared.current;
      const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
      const uuid = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
      const cases: [string, string][] = [
        ['limit=abc', 'querystring.limit'],
        ['limit=0', 'querystring.limit'],
        ['limit=101', 'querystring.limit'],
        ['limit=2.5', 'querystring.limit'],
        ['verified=maybe', 'querystring.verified'],
        ['cursor=not-a-cursor', 'querystring.cursor'],
        [`cursor=${b64(['2026-02-01T09:00:00.000001Z'])}`, 'querystring.cursor'],
        [`cursor=${b64(['2026-02-01T09:00:00.000Z', uuid])}`, 'querystring.cursor'],
        [`cursor=${b64(['2026-13-45T09:00:00.000001Z', uuid])}`, 'querystring.cursor'],
        [`cursor=${b64(['2026-02-01T09:00:00.000001Z', 'not-a-uuid'])}`, 'querystring.cursor'],
        [`cursor=${b64([1, 2])}`, 'querystring.cursor'],
        [`cursor=${'x'.repeat(201)}`, 'querystring.cursor'],
        ['sort=name', 'querystring'],
      ];
      for (const [query, field] of cases) {
        const res = await app.inject({ url: `/v1/admin/doctors?${query}`, headers: await adminAuth() });
        assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
        const body = res.json();
        assert.equal(body.code, 'VALIDATION_FAILED', query);
        const fields = (body.details as { field: string }[]).map((d) => d.field);
        assert.ok(
          fields.some((f) => f === field || f.startsWith(`${field}.`)),
          `${query}: ${fields} names ${field}`,
        );
      }
    });
  });
}
