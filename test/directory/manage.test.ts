import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { insertCatalog, insertHospital } from '../helpers/clinic.js';
import { multipart } from '../helpers/multipart.js';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser } from '../helpers/users.js';
import { insertAppointment, insertSession, insertSessionDay, makeDoctor, PNG } from './fixtures.js';

const NOW = '2026-03-02T06:00:00Z';

for (const backend of await databaseBackends()) {
  describe(`directory management [${backend}]`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cq-dir-'));
    after(() => rmSync(dataDir, { recursive: true, force: true }));
    const shared = sharedTestApp({ backend, clock: new ManualClock(NOW), env: { DATA_DIR: dataDir } });
    /** The stored photos: files under DATA_DIR/blobs on PGlite (embedded: disk), rows of `blobs` on Postgres. */
    const uploads = async (): Promise<number> => {
      if (backend === 'postgres') {
        const { app } = shared.current;
        const rows = await app.db
          .selectFrom('blobs')
          .select('key')
          .where('key', 'like', 'photos/%')
          .execute();
        return rows.length;
      }
      try {
        return readdirSync(join(dataDir, 'blobs', 'photos')).length;
      } catch {
        return 0;
      }
    };

    test('an admin creates, edits, lists and reads hospitals; the time zone must be IANA', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const patient = await makeUser(app, 'patient');
      const body = {
        name: 'Agrabad Clinic',
        city: 'Chattogram',
        address: 'Agrabad C/A',
        timezone: 'Asia/Dhaka',
      };
      const refused = await app.inject({
        method: 'POST',
        url: '/v1/hospitals',
        headers: patient.auth,
        payload: body,
      });
      assert.equal(refused.statusCode, 403);
      const bad = await app.inject({
        method: 'POST',
        url: '/v1/hospitals',
        headers: admin.auth,
        payload: { ...body, timezone: 'Mars/Olympus' },
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().details[0].field, 'body.timezone');
      const created = await app.inject({
        method: 'POST',
        url: '/v1/hospitals',
        headers: admin.auth,
        payload: { ...body, phone: '01711-000009' },
      });
      assert.equal(created.statusCode, 201, created.body);
      const hospital = created.json();
      assert.equal(hospital.phone, '+8801711000009');
      assert.equal(hospital.quietStart, '21:00');
      const patched = await app.inject({
        method: 'PATCH',
        url: `/v1/hospitals/${hospital.id}`,
        headers: admin.auth,
        payload: { name: 'Agrabad General Clinic', timezone: 'Europe/Berlin' },
      });
      assert.equal(patched.statusCode, 200);
      assert.equal(patched.json().timezone, 'Europe/Berlin');
      const list = await app.inject({ url: '/v1/hospitals?city=chattogram&q=Agrabd' });
      assert.deepEqual(
        list.json().items.map((h: { id: string }) => h.id),
        [hospital.id],
      );
      const doctor = await makeDoctor(app, 'Nusrat Jahan');
      const hidden = await makeDoctor(app, 'Hidden Doctor', { verified: false });
      await insertSession(app, { doctorId: doctor.doctorId, hospitalId: hospital.id, weekday: 2 });
      await insertSession(app, { doctorId: hidden.doctorId, hospitalId: hospital.id, weekday: 2 });
      const detail = await app.inject({ url: `/v1/hospitals/${hospital.id}` });
      assert.equal(detail.statusCode, 200);
      assert.deepEqual(
        detail.json().doctors.map((d: { id: string }) => d.id),
        [doctor.doctorId],
      );
      const missing = await app.inject({ url: '/v1/hospitals/00000000-0000-4000-8000-000000000000' });
      assert.equal(missing.statusCode, 404);
    });

    test('hospital pages are stable keyset pages', async () => {
      const { app } = shared.current;
      for (let i = 0; i < 7; i++)
        await insertHospital(app, { name: `Paged Hospital ${i}`, city: 'Rajshahi' });
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const url: string = `/v1/hospitals?city=Rajshahi&limit=3${cursor ? `&cursor=${cursor}` : ''}`;
        const page: { items: { id: string }[]; nextCursor: string | null } = (
          await app.inject({ url })
        ).json();
        seen.push(...page.items.map((h) => h.id));
        cursor = page.nextCursor;
        await insertHospital(app, { name: 'Paged Hospital 0a', city: 'Rajshahi' });
      } while (cursor);
      assert.equal(new Set(seen).size, seen.length);
      assert.ok(seen.length >= 7);
    });

    test('removing a hospital with upcoming appointments or active sessions is refused with 409', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const patient = await makeUser(app, 'patient');
      const doctor = await makeDoctor(app, 'Busy Doctor');
      const busy = await insertHospital(app, { name: 'Busy Hospital' });
      const sessionId = await insertSession(app, { doctorId: doctor.doctorId, hospitalId: busy, weekday: 1 });
      const queueId = await insertSessionDay(app, { sessionId, date: '2026-03-09', bookedCount: 1 });
      await app.db
        .insertInto('appointments')
        .values({
          queueId,
          doctorId: doctor.doctorId,
          date: '2026-03-09',
          profileId: patient.profileId ?? null,
          bookedBy: patient.id,
          serial: 1,
          positionKey: 1,
          estimatedAt: '2026-03-09T11:00:00Z',
          trackingTokenHash: `h-${Date.now()}`,
        })
        .execute();
      const refused = await app.inject({
        method: 'DELETE',
        url: `/v1/hospitals/${busy}`,
        headers: admin.auth,
      });
      assert.equal(refused.statusCode, 409);
      assert.equal(refused.json().code, 'CONFLICT');
      assert.match(refused.json().message, /1 upcoming appointment and 1 active session/);
      assert.equal((await app.inject({ url: `/v1/hospitals/${busy}` })).statusCode, 200, 'nothing changed');

      // A hospital whose only session has ended and whose appointments are in the past can go.
      const quiet = await insertHospital(app, { name: 'Quiet Hospital' });
      await insertSession(app, {
        doctorId: doctor.doctorId,
        hospitalId: quiet,
        weekday: 1,
        validTo: '2026-01-31',
      });
      await insertAppointment(app, {
        doctorId: doctor.doctorId,
        patient,
        hospitalId: quiet,
        date: '2026-01-05',
      });
      const removed = await app.inject({
        method: 'DELETE',
        url: `/v1/hospitals/${quiet}`,
        headers: admin.auth,
      });
      assert.equal(removed.statusCode, 204, removed.body);
      assert.equal((await app.inject({ url: `/v1/hospitals/${quiet}` })).statusCode, 404);
      const list = await app.inject({ url: '/v1/hospitals?q=Quiet%20Hospital&limit=100' });
      assert.ok(!list.json().items.some((h: { id: string }) => h.id === quiet));
      assert.ok(list.json().items.some((h: { id: string }) => h.id === busy));
    });

    test('catalogs: public lists, admin writes, duplicates 409, pages', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const doctor = await makeDoctor(app, 'Catalog Doctor');
      for (const table of ['specializations', 'qualifications'] as const) {
        const denied = await app.inject({
          method: 'POST',
          url: `/v1/${table}`,
          headers: doctor.auth,
          payload: { name: 'X' },
        });
        assert.equal(denied.statusCode, 403);
        const names = ['Neurology', 'Dermatology', 'ENT'].map((n) => `${n} ${table.slice(0, 4)}`);
        const created = [];
        for (const name of names) {
          const res = await app.inject({
            method: 'POST',
            url: `/v1/${table}`,
            headers: admin.auth,
            payload: { name },
          });
          assert.equal(res.statusCode, 201);
          created.push(res.json());
        }
        const dup = await app.inject({
          method: 'POST',
          url: `/v1/${table}`,
          headers: admin.auth,
          payload: { name: names[0].toUpperCase() },
        });
        assert.equal(dup.statusCode, 409);
        const page1 = (await app.inject({ url: `/v1/${table}?limit=2` })).json();
        assert.equal(page1.items.length, 2);
        const page2 = (await app.inject({ url: `/v1/${table}?limit=2&cursor=${page1.nextCursor}` })).json();
        const all = [...page1.items, ...page2.items].map((i: { id: string }) => i.id);
        assert.equal(new Set(all).size, all.length);
        const renamed = await app.inject({
          method: 'PATCH',
          url: `/v1/${table}/${created[0].id}`,
          headers: admin.auth,
          payload: { name: `Renamed ${table}` },
        });
        assert.equal(renamed.statusCode, 200);
        const listed = (await app.inject({ url: `/v1/${table}` }))
          .json()
          .items.map((i: { name: string }) => i.name);
        assert.ok(listed.includes(`Renamed ${table}`), 'a rename shows at once (cache invalidated)');
        const del: { statusCode: number } = await app.inject({
          method: 'DELETE',
          url: `/v1/${table}/${created[1].id}`,
          headers: admin.auth,
        });
        assert.equal(del.statusCode, 204);
        const after = (await app.inject({ url: `/v1/${table}` }))
          .json()
          .items.map((i: { id: string }) => i.id);
        assert.ok(!after.includes(created[1].id));
      }
      const svc = await app.inject({
        method: 'POST',
        url: '/v1/services',
        headers: admin.auth,
        payload: { name: 'Lipid profile', kind: 'lab_test', durationMinutes: 10, fee: 800 },
      });
      assert.equal(svc.statusCode, 201);
      assert.equal(svc.json().fee, 800);
      const badKind = await app.inject({
        method: 'POST',
        url: '/v1/services',
        headers: admin.auth,
        payload: { name: 'Bad', kind: 'magic' },
      });
      assert.equal(badKind.statusCode, 400);
      const services = (await app.inject({ url: '/v1/services' })).json().items;
      assert.ok(
        services.some(
          (s: { name: string; kind: string }) => s.name === 'Lipid profile' && s.kind === 'lab_test',
        ),
      );
    });

    test("a doctor edits their own profile; not another doctor's; a patient cannot verify", async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const patient = await makeUser(app, 'patient');
      const me = await makeDoctor(app, 'Self Editor', { licenseNo: 'EDIT-1' });
      const other = await makeDoctor(app, 'Other Doctor', { licenseNo: 'EDIT-2' });
      const spec = await insertCatalog(app, 'specializations', 'Edit Cardiology');
      const qual = await insertCatalog(app, 'qualifications', 'Edit FCPS');
      const svc = await insertCatalog(app, 'services', 'Edit ECG');
      const edit = await app.inject({
        method: 'PATCH',
        url: `/v1/doctors/${me.doctorId}`,
        headers: me.auth,
        payload: {
          bio: 'Interventional cardiologist',
          experienceYears: 12,
          specializationIds: [spec],
          qualifications: [{ qualificationId: qual, institute: 'BCPS', year: 2014 }],
          serviceIds: [svc],
        },
      });
      assert.equal(edit.statusCode, 200, edit.body);
      const profile = edit.json();
      assert.equal(profile.bio, 'Interventional cardiologist');
      assert.equal(profile.experienceYears, 12);
      assert.deepEqual(profile.specializations, [{ id: spec, name: 'Edit Cardiology' }]);
      assert.deepEqual(profile.qualifications, [
        { qualificationId: qual, name: 'Edit FCPS', institute: 'BCPS', year: 2014 },
      ]);
      assert.equal(profile.services[0].id, svc);

      const intrude = await app.inject({
        method: 'PATCH',
        url: `/v1/doctors/${other.doctorId}`,
        headers: me.auth,
        payload: { bio: 'hacked' },
      });
      assert.equal(intrude.statusCode, 403);
      const patientEdit = await app.inject({
        method: 'PATCH',
        url: `/v1/doctors/${me.doctorId}`,
        headers: patient.auth,
        payload: { bio: 'hacked' },
      });
      assert.equal(patientEdit.statusCode, 403);
      assert.equal((await app.inject({ url: `/v1/doctors/${other.doctorId}` })).json().bio, '');

      const unknownSpec = await app.inject({
        method: 'PATCH',
        url: `/v1/doctors/${me.doctorId}`,
        headers: me.auth,
        payload: { specializationIds: ['00000000-0000-4000-8000-000000000000'], bio: 'changed' },
      });
      assert.equal(unknownSpec.statusCode, 400);
      assert.match(unknownSpec.json().details[0].field, /specializationIds/);
      assert.equal(
        (await app.inject({ url: `/v1/doctors/${me.doctorId}` })).json().bio,
        'Interventional cardiologist',
      );

      const dupLicence = await app.inject({
        method: 'PATCH',
        url: `/v1/doctors/${me.doctorId}`,
        headers: admin.auth,
        payload: { licenseNo: 'edit-2' },
      });
      assert.equal(dupLicence.statusCode, 409, 'licence numbers are unique, ignoring case');

      const verifyByPatient = await app.inject({
        method: 'POST',
        url: `/v1/doctors/${me.doctorId}/verify`,
        headers: patient.auth,
        payload: {},
      });
      assert.equal(verifyByPatient.statusCode, 403);
      const verifyByDoctor = await app.inject({
        method: 'POST',
        url: `/v1/doctors/${me.doctorId}/verify`,
        headers: me.auth,
        payload: {},
      });
      assert.equal(verifyByDoctor.statusCode, 403);
    });

    test('verification controls public listing; unverified profiles only for themselves and admins', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const doc = await makeDoctor(app, 'Pending Verification', { verified: false, licenseNo: 'PEND-1' });
      const listed = async () =>
        (await app.inject({ url: '/v1/doctors?q=PEND-1' })).json().items.map((d: { id: string }) => d.id);
      assert.deepEqual(await listed(), []);
      assert.equal((await app.inject({ url: `/v1/doctors/${doc.doctorId}` })).statusCode, 404);
      assert.equal(
        (await app.inject({ url: `/v1/doctors/${doc.doctorId}`, headers: doc.auth })).statusCode,
        200,
      );
      const verified = await app.inject({
        method: 'POST',
        url: `/v1/doctors/${doc.doctorId}/verify`,
        headers: admin.auth,
      });
      assert.equal(verified.statusCode, 200, verified.body);
      assert.equal(verified.json().verified, true);
      assert.deepEqual(await listed(), [doc.doctorId]);
      assert.equal((await app.inject({ url: `/v1/doctors/${doc.doctorId}` })).statusCode, 200);
      const withdrawn = await app.inject({
        method: 'POST',
        url: `/v1/doctors/${doc.doctorId}/verify`,
        headers: admin.auth,
        payload: { verified: false },
      });
      assert.equal(withdrawn.json().verified, false);
      assert.deepEqual(await listed(), []);
      assert.equal((await app.inject({ url: `/v1/doctors/${doc.doctorId}` })).statusCode, 404);
    });

    test('photo upload: a real image is stored and served; wrong type 400, too large 413, nothing stored', async () => {
      const { app } = shared.current;
      const doc = await makeDoctor(app, 'Photo Doctor');
      const other = await makeDoctor(app, 'Other Photo Doctor');
      const url = `/v1/doctors/${doc.doctorId}/photo`;
      const before = await uploads();

      const fake = multipart('photo', 'x.png', 'image/png', Buffer.from('<script>alert(1)</script>'));
      const wrongType = await app.inject({
        method: 'POST',
        url,
        headers: { ...doc.auth, ...fake.headers },
        payload: fake.payload,
      });
      assert.equal(wrongType.statusCode, 400);
      assert.equal(wrongType.json().code, 'VALIDATION_FAILED');

      const svg = multipart(
        'photo',
        'x.svg',
        'image/svg+xml',
        Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      );
      assert.equal(
        (
          await app.inject({
            method: 'POST',
            url,
            headers: { ...doc.auth, ...svg.headers },
            payload: svg.payload,
          })
        ).statusCode,
        400,
      );

      const huge = multipart(
        'photo',
        'big.png',
        'image/png',
        Buffer.concat([PNG, Buffer.alloc(2 * 1024 * 1024)]),
      );
      const tooLarge = await app.inject({
        method: 'POST',
        url,
        headers: { ...doc.auth, ...huge.headers },
        payload: huge.payload,
      });
      assert.equal(tooLarge.statusCode, 413);
      assert.equal(tooLarge.json().code, 'PAYLOAD_TOO_LARGE');

      const json = await app.inject({ method: 'POST', url, headers: doc.auth, payload: { photo: 'x' } });
      assert.equal(json.statusCode, 415);

      const good = multipart('photo', 'me.png', 'image/png', PNG);
      const intrude = await app.inject({
        method: 'POST',
        url,
        headers: { ...other.auth, ...good.headers },
        payload: good.payload,
      });
      assert.equal(intrude.statusCode, 403);
      assert.equal(await uploads(), before, 'nothing stored by refused uploads');
      assert.equal((await app.inject({ url: `/v1/doctors/${doc.doctorId}` })).json().photoUrl, null);

      const ok = await app.inject({
        method: 'POST',
        url,
        headers: { ...doc.auth, ...good.headers },
        payload: good.payload,
      });
      assert.equal(ok.statusCode, 200, ok.body);
      const photoUrl = ok.json().photoUrl as string;
      assert.match(photoUrl, /^\/v1\/photos\/.+\.png$/);
      assert.equal(await uploads(), before + 1);
      const served = await app.inject({ url: photoUrl });
      assert.equal(served.statusCode, 200);
      assert.equal(served.headers['content-type'], 'image/png');
      assert.deepEqual(served.rawPayload, PNG);
      assert.equal((await app.inject({ url: `/v1/doctors/${doc.doctorId}` })).json().photoUrl, photoUrl);

      // A new photo replaces the old file.
      const again = await app.inject({
        method: 'POST',
        url,
        headers: { ...doc.auth, ...good.headers },
        payload: good.payload,
      });
      assert.equal(again.statusCode, 200);
      assert.equal(await uploads(), before + 1);
      assert.equal((await app.inject({ url: photoUrl })).statusCode, 404);
      assert.equal((await app.inject({ url: '/v1/photos/..%2F..%2Fetc%2Fpasswd' })).statusCode, 400);
    });

    test('favorites are idempotent, per account, and paged', async () => {
      const { app } = shared.current;
      const patient = await makeUser(app, 'patient');
      const other = await makeUser(app, 'patient');
      const doctors = [];
      for (const name of ['Fav One', 'Fav Two', 'Fav Three']) doctors.push(await makeDoctor(app, name));
      const clock = app.clock as ManualClock;
      for (const d of doctors) {
        clock.advance(1000);
        for (let i = 0; i < 2; i++) {
          const put = await app.inject({
            method: 'PUT',
            url: `/v1/me/favorites/${d.doctorId}`,
            headers: patient.auth,
          });
          assert.equal(put.statusCode, 204);
        }
      }
      const unknown = await app.inject({
        method: 'PUT',
        url: '/v1/me/favorites/00000000-0000-4000-8000-000000000000',
        headers: patient.auth,
      });
      assert.equal(unknown.statusCode, 404);
      const page1 = (await app.inject({ url: '/v1/me/favorites?limit=2', headers: patient.auth })).json();
      assert.deepEqual(
        page1.items.map((d: { id: string }) => d.id),
        [doctors[2].doctorId, doctors[1].doctorId],
      );
      const page2 = (
        await app.inject({
          url: `/v1/me/favorites?limit=2&cursor=${page1.nextCursor}`,
          headers: patient.auth,
        })
      ).json();
      assert.deepEqual(
        page2.items.map((d: { id: string }) => d.id),
        [doctors[0].doctorId],
      );
      assert.equal(page2.nextCursor, null);
      assert.equal(
        (await app.inject({ url: '/v1/me/favorites', headers: other.auth })).json().items.length,
        0,
      );
      for (let i = 0; i < 2; i++) {
        const del: { statusCode: number } = await app.inject({
          method: 'DELETE',
          url: `/v1/me/favorites/${doctors[1].doctorId}`,
          headers: patient.auth,
        });
        assert.equal(del.statusCode, 204);
      }
      const left = (await app.inject({ url: '/v1/me/favorites', headers: patient.auth })).json();
      assert.equal(left.items.length, 2);
      assert.equal((await app.inject({ url: '/v1/me/favorites' })).statusCode, 401);
    });
  });
}
