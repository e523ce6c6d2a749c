// Hospital scoping of schedules: time off entered at a desk reaches only that hospital's sessions, only its
// hospital removes it, and a doctor's own sitting is offered only once its hospital confirmed it and the doctor
// is verified.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { refreshSoonest } from '../../src/modules/directory/soonest.repository.js';
import { bookingRefusal } from '../../src/modules/schedule/schedule.rules.js';
import { makeDoctor, makeHospital, makePatients, makeSession } from '../appointments/fixtures.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';

const MONDAY_9AM = '2025-06-02T03:00:00Z'; // 09:00 in Dhaka
const TUESDAY = '2025-06-03';

async function world(t: TestContext, backend: 'postgres' | 'pglite') {
  const clock = new ManualClock(MONDAY_9AM);
  const { app } = await buildTestApp(t, { backend, clock });
  const lake = await makeHospital(app, { name: 'Lake Hospital' });
  const river = await makeHospital(app, { name: 'River Hospital' });
  const doctor = await makeDoctor(app, { name: 'Dr. Two Hospitals' });
  const req = (
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    auth?: { authorization: string },
    payload?: unknown,
  ) =>
    app.inject({
      method,
      url,
      headers: auth ?? {},
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
  const available = async (doctorId: string) =>
    (await req('GET', `/v1/doctors/${doctorId}/availability?from=${TUESDAY}&to=${TUESDAY}`))
      .json()
      .items.map((i: { sessionId: string }) => i.sessionId);
  const listedOn = async (doctorId: string, date: string) =>
    (await req('GET', `/v1/doctors?availableOn=${date}&limit=100`))
      .json()
      .items.some((d: { id: string }) => d.id === doctorId);
  return { app, clock, lake, river, doctor, req, available, listedOn };
}

const session = (hospitalId: string, start: string, end: string) => ({
  hospitalId,
  weekday: 2,
  start,
  end,
  slotMinutes: 15,
  fee: 500,
});

for (const backend of await databaseBackends()) {
  describe(`hospital scoping of schedules [${backend}]`, () => {
    test("time off entered at one hospital's desk cancels and blocks only that hospital's sessions", async (t) => {
      const w = await world(t, backend);
      const atLake = await makeSession(w.app, {
        doctorId: w.doctor.doctorId,
        hospitalId: w.lake,
        weekday: 2,
      });
      const atRiver = await makeSession(w.app, {
        doctorId: w.doctor.doctorId,
        hospitalId: w.river,
        weekday: 2,
        start: '14:00',
        end: '17:00',
      });
      const [a, b] = await makePatients(w.app, 2);
      const lakeBooking = await w.req('POST', '/v1/appointments', a.auth, {
        sessionId: atLake,
        date: TUESDAY,
      });
      const riverBooking = await w.req('POST', '/v1/appointments', b.auth, {
        sessionId: atRiver,
        date: TUESDAY,
      });
      assert.equal(lakeBooking.statusCode, 201, lakeBooking.body);
      assert.equal(riverBooking.statusCode, 201, riverBooking.body);

      const lakeDesk = await makeUser(w.app, 'staff', { hospitalId: w.lake });
      const res = await w.req('POST', `/v1/doctors/${w.doctor.doctorId}/time-off`, lakeDesk.auth, {
        from: TUESDAY,
        to: TUESDAY,
        reason: 'ward round',
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(res.json().cancelledAppointmentIds, [lakeBooking.json().id]);
      assert.equal(res.json().hospitalId, w.lake);
      const statuses = await w.app.db.selectFrom('appointments').select(['id', 'status']).execute();
      assert.equal(statuses.find((r) => r.id === riverBooking.json().id)?.status, 'booked');
      assert.equal(statuses.find((r) => r.id === lakeBooking.json().id)?.status, 'cancelled');

      const otherHospital = await w.req('POST', `/v1/doctors/${w.doctor.doctorId}/time-off`, lakeDesk.auth, {
        from: TUESDAY,
        to: TUESDAY,
        hospitalId: w.river,
      });
      assert.equal(otherHospital.statusCode, 403, 'staff cannot enter time off for another hospital');
      assert.equal(otherHospital.json().code, 'FORBIDDEN');

      // River Hospital's sitting that day is still offered; Lake's is not.
      assert.deepEqual(await w.available(w.doctor.doctorId), [atRiver]);
      assert.ok(await w.listedOn(w.doctor.doctorId, TUESDAY), 'still found as available that day');
      await refreshSoonest(w.app.db, w.clock.now(), { doctorIds: [w.doctor.doctorId] });
      const soonest = await w.app.db
        .selectFrom('doctorSoonest')
        .select('day')
        .where('doctorId', '=', w.doctor.doctorId)
        .executeTakeFirstOrThrow();
      assert.equal(soonest.day, TUESDAY, "River Hospital's sitting is still the soonest day");
    });

    test('only the hospital that entered time off (or the doctor, or an admin) removes it', async (t) => {
      const w = await world(t, backend);
      await makeSession(w.app, { doctorId: w.doctor.doctorId, hospitalId: w.lake, weekday: 2 });
      await makeSession(w.app, {
        doctorId: w.doctor.doctorId,
        hospitalId: w.river,
        weekday: 2,
        start: '14:00',
        end: '17:00',
      });
      const lakeDesk = await makeUser(w.app, 'staff', { hospitalId: w.lake });
      const riverDesk = await makeUser(w.app, 'staff', { hospitalId: w.river });
      const admin = await makeUser(w.app, 'admin');
      const enter = async (auth: { authorization: string }) => {
        const res = await w.req('POST', `/v1/doctors/${w.doctor.doctorId}/time-off`, auth, {
          from: TUESDAY,
          to: TUESDAY,
        });
        assert.equal(res.statusCode, 201, res.body);
        return res.json().id as string;
      };
      const fromLake = await enter(lakeDesk.auth);
      const byDoctor = await enter(w.doctor.auth);
      const remaining = async () =>
        (await w.req('GET', `/v1/doctors/${w.doctor.doctorId}/time-off`))
          .json()
          .items.map((i: { id: string; hospitalId: string | null }) => [i.id, i.hospitalId])
          .sort();

      const refused = await w.req('DELETE', `/v1/time-off/${fromLake}`, riverDesk.auth);
      assert.equal(refused.statusCode, 403);
      assert.equal(refused.json().code, 'FORBIDDEN');
      const refusedDoctors = await w.req('DELETE', `/v1/time-off/${byDoctor}`, riverDesk.auth);
      assert.equal(refusedDoctors.statusCode, 403, "a desk cannot remove the doctor's own time off");
      assert.deepEqual(
        await remaining(),
        [
          [fromLake, w.lake],
          [byDoctor, null],
        ].sort(),
      );

      assert.equal((await w.req('DELETE', `/v1/time-off/${fromLake}`, lakeDesk.auth)).statusCode, 204);
      assert.equal((await w.req('DELETE', `/v1/time-off/${byDoctor}`, admin.auth)).statusCode, 204);
      const again = await enter(riverDesk.auth);
      assert.equal((await w.req('DELETE', `/v1/time-off/${again}`, w.doctor.auth)).statusCode, 204);
      assert.deepEqual(await remaining(), []);
    });

    test("a doctor's own sitting is pending, not offered, until that hospital's staff or an admin confirms it", async (t) => {
      const w = await world(t, backend);
      const created = await w.req(
        'POST',
        `/v1/doctors/${w.doctor.doctorId}/sessions`,
        w.doctor.auth,
        session(w.lake, '09:00', '12:00'),
      );
      assert.equal(created.statusCode, 201, created.body);
      assert.equal(created.json().status, 'pending');
      assert.equal(created.json().confirmedAt, null);
      const id = created.json().id as string;
      assert.deepEqual(await w.available(w.doctor.doctorId), [], 'a pending sitting is not offered');
      assert.equal(await w.listedOn(w.doctor.doctorId, TUESDAY), false, 'nor found as available that day');
      const [patient] = await makePatients(w.app, 1);
      const book = () => w.req('POST', '/v1/appointments', patient.auth, { sessionId: id, date: TUESDAY });
      const refused = await book();
      assert.equal(refused.statusCode, 422, refused.body);
      assert.equal(refused.json().code, 'DATE_NOT_BOOKABLE');
      assert.equal(refused.json().details.reason, 'session_pending');
      await refreshSoonest(w.app.db, w.clock.now(), { doctorIds: [w.doctor.doctorId] });
      const soonest = await w.app.db
        .selectFrom('doctorSoonest')
        .select('day')
        .where('doctorId', '=', w.doctor.doctorId)
        .executeTakeFirstOrThrow();
      assert.equal(soonest.day, null, 'nor counted as a soonest day');

      const riverDesk = await makeUser(w.app, 'staff', { hospitalId: w.river });
      const lakeDesk = await makeUser(w.app, 'staff', { hospitalId: w.lake });
      const pending = await w.req('GET', '/v1/sessions/pending', lakeDesk.auth);
      assert.equal(pending.statusCode, 200, pending.body);
      assert.deepEqual(
        pending.json().items.map((s: { id: string; doctor: { id: string } }) => [s.id, s.doctor.id]),
        [[id, w.doctor.doctorId]],
      );
      assert.deepEqual((await w.req('GET', '/v1/sessions/pending', riverDesk.auth)).json().items, []);
      assert.equal(
        (await w.req('GET', `/v1/sessions/pending?hospitalId=${w.lake}`, riverDesk.auth)).statusCode,
        403,
      );
      for (const who of [riverDesk, w.doctor]) {
        const refused = await w.req('POST', `/v1/sessions/${id}/confirm`, who.auth);
        assert.equal(refused.statusCode, 403, refused.body);
        assert.equal(refused.json().code, 'FORBIDDEN');
      }
      assert.deepEqual(await w.available(w.doctor.doctorId), []);

      const confirmed = await w.req('POST', `/v1/sessions/${id}/confirm`, lakeDesk.auth);
      assert.equal(confirmed.statusCode, 200, confirmed.body);
      assert.equal(confirmed.json().status, 'confirmed');
      assert.equal(confirmed.json().confirmedAt, w.clock.now().toISOString());
      assert.deepEqual(await w.available(w.doctor.doctorId), [id]);
      assert.ok(await w.listedOn(w.doctor.doctorId, TUESDAY));
      assert.equal((await book()).statusCode, 201);
      assert.deepEqual((await w.req('GET', '/v1/sessions/pending', lakeDesk.auth)).json().items, []);

      // Moving it to another hospital needs that hospital's confirmation again; an admin's sitting needs none.
      const moved = await w.req('PATCH', `/v1/sessions/${id}`, w.doctor.auth, {
        hospitalId: w.river,
        cancelAffected: true,
      });
      assert.equal(moved.statusCode, 200, moved.body);
      assert.equal(moved.json().session.status, 'pending');
      assert.deepEqual(await w.available(w.doctor.doctorId), []);
      const admin = await makeUser(w.app, 'admin');
      const byAdmin = await w.req(
        'POST',
        `/v1/doctors/${w.doctor.doctorId}/sessions`,
        admin.auth,
        session(w.lake, '14:00', '16:00'),
      );
      assert.equal(byAdmin.json().status, 'confirmed');
      const byDesk = await w.req(
        'POST',
        `/v1/doctors/${w.doctor.doctorId}/sessions`,
        lakeDesk.auth,
        session(w.lake, '17:00', '18:00'),
      );
      assert.equal(byDesk.json().status, 'confirmed');
      assert.deepEqual(
        (await w.available(w.doctor.doctorId)).sort(),
        [byAdmin.json().id, byDesk.json().id].sort(),
      );
    });

    test("an unverified doctor's sessions are not offered, even ones a hospital entered", async (t) => {
      const w = await world(t, backend);
      const unverified = await makeUser(w.app, 'doctor', { verified: false, name: 'Dr. Not Yet' });
      const doctorId = unverified.doctorId as string;
      const lakeDesk = await makeUser(w.app, 'staff', { hospitalId: w.lake });
      const created = await w.req(
        'POST',
        `/v1/doctors/${doctorId}/sessions`,
        lakeDesk.auth,
        session(w.lake, '09:00', '12:00'),
      );
      assert.equal(created.statusCode, 201, created.body);
      assert.deepEqual(await w.available(doctorId), []);
      const [patient] = await makePatients(w.app, 1);
      const refused = await w.req('POST', '/v1/appointments', patient.auth, {
        sessionId: created.json().id,
        date: TUESDAY,
      });
      assert.equal(refused.statusCode, 422, refused.body);
      assert.equal(refused.json().details.reason, 'doctor_unverified');
      const calendar = await w.req('GET', `/v1/availability?date=${TUESDAY}`);
      assert.ok(!calendar.json().items.some((i: { doctorId: string }) => i.doctorId === doctorId));
      await w.app.db
        .updateTable('doctors')
        .set({ verifiedAt: new Date() })
        .where('id', '=', doctorId)
        .execute();
      assert.deepEqual(await w.available(doctorId), [created.json().id]);
    });

    test('booking refuses a pending sitting and an unverified doctor before any other rule', () => {
      const rules = {
        weekday: 2,
        startTime: '09:00',
        endTime: '12:00',
        timezone: 'Asia/Dhaka',
        validFrom: null,
        validTo: null,
        bookingOpensDays: 30,
        bookingClosesMinutes: 0,
        confirmedAt: new Date(MONDAY_9AM),
        doctorVerifiedAt: new Date(MONDAY_9AM),
      };
      const now = new Date(MONDAY_9AM);
      assert.equal(bookingRefusal(rules, TUESDAY, now, false), null);
      assert.equal(bookingRefusal({ ...rules, confirmedAt: null }, TUESDAY, now, false), 'session_pending');
      assert.equal(
        bookingRefusal({ ...rules, doctorVerifiedAt: null, confirmedAt: null }, TUESDAY, now, true),
        'doctor_unverified',
      );
    });
  });
}
