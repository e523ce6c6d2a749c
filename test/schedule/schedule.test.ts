import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import {
  makeDoctor,
  makeHospital,
  makePatients,
  makeSession,
  makeSpecialization,
} from '../appointments/fixtures.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';

const MONDAY_9AM = '2025-06-02T03:00:00Z'; // 09:00 in Dhaka
const TUESDAY = '2025-06-03';

async function world(t: TestContext, backend: 'postgres' | 'pglite') {
  const clock = new ManualClock(MONDAY_9AM);
  const { app } = await buildTestApp(t, { backend, clock });
  const hospitalId = await makeHospital(app, { name: 'Lake Hospital', city: 'Dhaka' });
  const doctor = await makeDoctor(app, { name: 'Dr. Karim' });
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
  // A session the doctor enters is bookable once the hospital (its staff or an admin) confirms it.
  const admin = await makeUser(app, 'admin');
  const confirm = async (sessionId: string) => {
    const res = await req('POST', `/v1/sessions/${sessionId}/confirm`, admin.auth);
    assert.equal(res.statusCode, 200, res.body);
  };
  return { app, clock, hospitalId, doctor, req, confirm };
}

const tuesdayMorning = (hospitalId: string) => ({
  hospitalId,
  weekday: 2,
  start: '09:00',
  end: '12:00',
  slotMinutes: 15,
  fee: 800,
  room: '2B',
});

for (const backend of await databaseBackends()) {
  describe(`schedule [${backend}]`, () => {
    test('a doctor adds a session (capacity defaults to the slots that fit) and anyone lists it', async (t) => {
      const w = await world(t, backend);
      const res = await w.req(
        'POST',
        `/v1/doctors/${w.doctor.doctorId}/sessions`,
        w.doctor.auth,
        tuesdayMorning(w.hospitalId),
      );
      assert.equal(res.statusCode, 201, res.body);
      const s = res.json();
      assert.equal(s.capacity, 12);
      assert.equal(s.start, '09:00');
      assert.equal(s.fee, 800);
      assert.equal(s.bookingOpensDays, 30);
      assert.equal(s.hospital.timezone, 'Asia/Dhaka');
      const list = await w.req('GET', `/v1/doctors/${w.doctor.doctorId}/sessions`);
      assert.equal(list.statusCode, 200);
      assert.deepEqual(
        list.json().items.map((i: { id: string }) => i.id),
        [s.id],
      );
    });

    test('overlapping sessions on one weekday are refused with 409; bad shapes with 400', async (t) => {
      const w = await world(t, backend);
      const url = `/v1/doctors/${w.doctor.doctorId}/sessions`;
      assert.equal((await w.req('POST', url, w.doctor.auth, tuesdayMorning(w.hospitalId))).statusCode, 201);
      const overlap = await w.req('POST', url, w.doctor.auth, {
        ...tuesdayMorning(w.hospitalId),
        start: '11:30',
        end: '13:00',
      });
      assert.equal(overlap.statusCode, 409);
      assert.equal(overlap.json().code, 'CONFLICT');
      const adjacent = await w.req('POST', url, w.doctor.auth, {
        ...tuesdayMorning(w.hospitalId),
        start: '12:00',
        end: '13:00',
      });
      assert.equal(adjacent.statusCode, 201, 'touching sessions do not overlap');
      const otherDay = await w.req('POST', url, w.doctor.auth, {
        ...tuesdayMorning(w.hospitalId),
        weekday: 3,
      });
      assert.equal(otherDay.statusCode, 201);
      const disjointValidity = await w.req('POST', url, w.doctor.auth, {
        ...tuesdayMorning(w.hospitalId),
        weekday: 3,
        validFrom: '2030-01-01',
      });
      assert.equal(disjointValidity.statusCode, 409, 'open-ended validity overlaps a later range');
      const backwards = await w.req('POST', url, w.doctor.auth, {
        ...tuesdayMorning(w.hospitalId),
        weekday: 4,
        start: '12:00',
        end: '09:00',
      });
      assert.equal(backwards.statusCode, 400);
      const badWeekday = await w.req('POST', url, w.doctor.auth, {
        ...tuesdayMorning(w.hospitalId),
        weekday: 8,
      });
      assert.equal(badWeekday.statusCode, 400);
      const sessions = await w.app.db.selectFrom('sessions').select('id').execute();
      assert.equal(sessions.length, 3);
    });

    test('only the doctor, an admin or staff of that hospital manage sessions', async (t) => {
      const w = await world(t, backend);
      const url = `/v1/doctors/${w.doctor.doctorId}/sessions`;
      const other = await makeDoctor(w.app);
      const [patient] = await makePatients(w.app, 1);
      const staff = await makeUser(w.app, 'staff', { hospitalId: w.hospitalId });
      const elsewhere = await makeUser(w.app, 'staff', { hospitalId: await makeHospital(w.app) });
      const admin = await makeUser(w.app, 'admin');
      assert.equal((await w.req('POST', url, other.auth, tuesdayMorning(w.hospitalId))).statusCode, 403);
      assert.equal((await w.req('POST', url, patient.auth, tuesdayMorning(w.hospitalId))).statusCode, 403);
      assert.equal((await w.req('POST', url, elsewhere.auth, tuesdayMorning(w.hospitalId))).statusCode, 403);
      assert.equal((await w.req('POST', url, undefined, tuesdayMorning(w.hospitalId))).statusCode, 401);
      assert.equal((await w.req('POST', url, staff.auth, tuesdayMorning(w.hospitalId))).statusCode, 201);
      assert.equal(
        (await w.req('POST', url, admin.auth, { ...tuesdayMorning(w.hospitalId), weekday: 5 })).statusCode,
        201,
      );
      const unknown = await w.req(
        'POST',
        '/v1/doctors/00000000-0000-4000-8000-000000000000/sessions',
        admin.auth,
        tuesdayMorning(w.hospitalId),
      );
      assert.equal(unknown.statusCode, 404);
    });

    test('an edit that would invalidate bookings is refused unless cancelAffected, which cancels them', async (t) => {
      const w = await world(t, backend);
      const cancelled: { appointmentId: string; kind?: string }[] = [];
      w.app.events.afterCommit('appointment.cancelled', (e) => {
        cancelled.push(e);
      });
      const s = (
        await w.req(
          'POST',
          `/v1/doctors/${w.doctor.doctorId}/sessions`,
          w.doctor.auth,
          tuesdayMorning(w.hospitalId),
        )
      ).json();
      await w.confirm(s.id);
      const patients = await makePatients(w.app, 3);
      const ids = [];
      for (const p of patients) {
        const booked = await w.req('POST', '/v1/appointments', p.auth, { sessionId: s.id, date: TUESDAY });
        assert.equal(booked.statusCode, 201, booked.body);
        ids.push(booked.json().id);
      }
      const harmless = await w.req('PATCH', `/v1/sessions/${s.id}`, w.doctor.auth, {
        fee: 900,
        room: '3C',
        capacity: 5,
      });
      assert.equal(harmless.statusCode, 200, harmless.body);
      assert.equal(harmless.json().session.fee, 900);
      assert.deepEqual(harmless.json().cancelledAppointmentIds, []);
      const shrink = await w.req('PATCH', `/v1/sessions/${s.id}`, w.doctor.auth, { capacity: 2 });
      assert.equal(shrink.statusCode, 409);
      const moved = await w.req('PATCH', `/v1/sessions/${s.id}`, w.doctor.auth, { start: '10:00' });
      assert.equal(moved.statusCode, 409);
      assert.equal(moved.json().details.affectedAppointments, 3);
      const still = await w.app.db.selectFrom('appointments').select('status').execute();
      assert.ok(
        still.every((r) => r.status === 'booked'),
        'a refused edit changes nothing',
      );
      const forced = await w.req('PATCH', `/v1/sessions/${s.id}`, w.doctor.auth, {
        capacity: 2,
        cancelAffected: true,
      });
      assert.equal(forced.statusCode, 200);
      assert.deepEqual(forced.json().cancelledAppointmentIds, [ids[2]], 'the latest serial goes');
      assert.deepEqual(
        cancelled.map((c) => [c.appointmentId, c.kind]),
        [[ids[2], 'session_changed']],
      );
      const day = await w.app.db
        .selectFrom('sessionDays')
        .select(['capacity', 'bookedCount'])
        .executeTakeFirstOrThrow();
      assert.deepEqual(day, { capacity: 2, bookedCount: 2 });
      const del = await w.req('DELETE', `/v1/sessions/${s.id}`, w.doctor.auth);
      assert.equal(del.statusCode, 409);
      const delForced = await w.req('DELETE', `/v1/sessions/${s.id}?cancelAffected=true`, w.doctor.auth);
      assert.equal(delForced.statusCode, 200);
      assert.equal(delForced.json().cancelledAppointmentIds.length, 2);
      const list = await w.req('GET', `/v1/doctors/${w.doctor.doctorId}/sessions`);
      assert.equal(list.json().items.length, 0);
      const late = await w.req('POST', '/v1/appointments', patients[0].auth, {
        sessionId: s.id,
        date: TUESDAY,
      });
      assert.equal(late.statusCode, 404, 'a removed session takes no bookings');
    });

    test('time off cancels the bookings inside it with a reason and blocks those dates', async (t) => {
      const w = await world(t, backend);
      const events: { kind?: string; reason: string }[] = [];
      w.app.events.afterCommit('appointment.cancelled', (e) => {
        events.push(e);
      });
      const sessionId = await makeSession(w.app, {
        doctorId: w.doctor.doctorId,
        hospitalId: w.hospitalId,
        weekday: 2,
      });
      const [a, b] = await makePatients(w.app, 2);
      const inside = (await w.req('POST', '/v1/appointments', a.auth, { sessionId, date: TUESDAY })).json();
      const outside = (
        await w.req('POST', '/v1/appointments', b.auth, { sessionId, date: '2025-06-10' })
      ).json();
      const staffElsewhere = await makeUser(w.app, 'staff', { hospitalId: await makeHospital(w.app) });
      const refused = await w.req('POST', `/v1/doctors/${w.doctor.doctorId}/time-off`, staffElsewhere.auth, {
        from: TUESDAY,
        to: TUESDAY,
      });
      assert.equal(refused.statusCode, 403);
      const bad = await w.req('POST', `/v1/doctors/${w.doctor.doctorId}/time-off`, w.doctor.auth, {
        from: '2025-06-05',
        to: '2025-06-04',
      });
      assert.equal(bad.statusCode, 400);
      const res = await w.req('POST', `/v1/doctors/${w.doctor.doctorId}/time-off`, w.doctor.auth, {
        from: TUESDAY,
        to: '2025-06-05',
        reason: 'conference',
      });
      assert.equal(res.statusCode, 201, res.body);
      assert.deepEqual(res.json().cancelledAppointmentIds, [inside.id]);
      assert.deepEqual(
        events.map((e) => e.kind),
        ['time_off'],
      );
      assert.match(events[0].reason, /conference/);
      const rows = await w.app.db
        .selectFrom('appointments')
        .select(['id', 'status', 'cancelReason'])
        .execute();
      assert.equal(rows.find((r) => r.id === outside.id)?.status, 'booked');
      assert.equal(rows.find((r) => r.id === inside.id)?.status, 'cancelled');
      const rebook = await w.req('POST', '/v1/appointments', a.auth, { sessionId, date: TUESDAY });
      assert.equal(rebook.json().details.reason, 'time_off');
      const list = await w.req('GET', `/v1/doctors/${w.doctor.doctorId}/time-off`);
      assert.equal(list.json().items.length, 1);
      const del = await w.req('DELETE', `/v1/time-off/${res.json().id}`, w.doctor.auth);
      assert.equal(del.statusCode, 204);
      assert.equal(
        (await w.req('POST', '/v1/appointments', a.auth, { sessionId, date: TUESDAY })).statusCode,
        201,
      );
    });

    test('availability offers only dates inside the booking window, with counts and next serial', async (t) => {
      const w = await world(t, backend);
      const sessionId = await makeSession(w.app, {
        doctorId: w.doctor.doctorId,
        hospitalId: w.hospitalId,
        weekday: 2,
        capacity: 3,
        bookingOpensDays: 10,
        fee: 650,
      });
      await makeSession(w.app, {
        doctorId: w.doctor.doctorId,
        hospitalId: w.hospitalId,
        weekday: 1,
        start: '08:00',
        end: '08:30',
      });
      await w.app.db
        .insertInto('timeOff')
        .values({ doctorId: w.doctor.doctorId, fromDate: '2025-06-10', toDate: '2025-06-10', reason: '' })
        .execute();
      const [a] = await makePatients(w.app, 1);
      await w.req('POST', '/v1/appointments', a.auth, { sessionId, date: TUESDAY });
      const res = await w.req(
        'GET',
        `/v1/doctors/${w.doctor.doctorId}/availability?from=2025-05-26&to=2025-06-20`,
      );
      assert.equal(res.statusCode, 200, res.body);
      const items = res.json().items;
      // Monday 2 June 08:00 has started (it is 09:00); 10 June is time off; Tuesday 17 June is beyond its 10 days;
      // the Monday session opens 30 days ahead.
      assert.deepEqual(
        items.map((i: { date: string }) => i.date),
        [TUESDAY, '2025-06-09', '2025-06-16'],
      );
      const tue = items[0];
      assert.equal(tue.sessionId, sessionId);
      assert.ok(tue.queueId);
      assert.equal(tue.start, '2025-06-03T09:00:00+06:00');
      assert.equal(tue.booked, 1);
      assert.equal(tue.remaining, 2);
      assert.equal(tue.nextSerial, 2);
      assert.equal(tue.nextEstimatedAt, '2025-06-03T09:10:00+06:00');
      assert.equal(tue.fee, 650);
      assert.equal(tue.hospital.name, 'Lake Hospital');
      assert.equal(items[1].queueId, null);
      const tooLong = await w.req(
        'GET',
        `/v1/doctors/${w.doctor.doctorId}/availability?from=2025-06-01&to=2025-08-15`,
      );
      assert.equal(tooLong.statusCode, 400);
      const malformed = await w.req(
        'GET',
        `/v1/doctors/${w.doctor.doctorId}/availability?from=June&to=2025-08-15`,
      );
      assert.equal(malformed.statusCode, 400);
    });

    test('the calendar view lists doctors with room on a date, filtered by specialization, city and service', async (t) => {
      const w = await world(t, backend);
      const cardio = await makeSpecialization(w.app, 'Cardiology');
      const chittagong = await makeHospital(w.app, { city: 'Chattogram' });
      await w.app.db
        .insertInto('doctorSpecializations')
        .values({ doctorId: w.doctor.doctorId, specializationId: cardio })
        .execute();
      const derm = await makeDoctor(w.app, { name: 'Dr. Skin' });
      const full = await makeDoctor(w.app, { specializationIds: [cardio], name: 'Dr. Busy' });
      const far = await makeDoctor(w.app, { specializationIds: [cardio], name: 'Dr. Far' });
      const unverified = await makeDoctor(w.app, { specializationIds: [cardio], name: 'Dr. New' });
      await w.app.db
        .updateTable('doctors')
        .set({ verifiedAt: null })
        .where('id', '=', unverified.doctorId)
        .execute();
      await makeSession(w.app, { doctorId: w.doctor.doctorId, hospitalId: w.hospitalId, weekday: 2 });
      await makeSession(w.app, { doctorId: derm.doctorId, hospitalId: w.hospitalId, weekday: 2 });
      const busy = await makeSession(w.app, {
        doctorId: full.doctorId,
        hospitalId: w.hospitalId,
        weekday: 2,
        capacity: 1,
      });
      await makeSession(w.app, { doctorId: far.doctorId, hospitalId: chittagong, weekday: 2 });
      await makeSession(w.app, { doctorId: unverified.doctorId, hospitalId: w.hospitalId, weekday: 2 });
      const service = await w.app.db
        .insertInto('services')
        .values({ name: 'ECG' })
        .returning('id')
        .executeTakeFirstOrThrow();
      await w.app.db
        .insertInto('doctorServices')
        .values({ doctorId: far.doctorId, serviceId: service.id })
        .execute();
      const [a] = await makePatients(w.app, 1);
      await w.req('POST', '/v1/appointments', a.auth, { sessionId: busy, date: TUESDAY });
      const names = async (qs: string) =>
        (await w.req('GET', `/v1/availability?date=${TUESDAY}${qs}`))
          .json()
          .items.map((i: { doctor: { name: string } }) => i.doctor.name);
      assert.deepEqual(await names(''), ['Dr. Far', 'Dr. Karim', 'Dr. Skin']);
      assert.deepEqual(await names('&specialization=Cardiology'), ['Dr. Far', 'Dr. Karim']);
      assert.deepEqual(await names(`&specialization=${cardio}&city=dhaka`), ['Dr. Karim']);
      assert.deepEqual(await names(`&serviceId=${service.id}`), ['Dr. Far']);
      assert.deepEqual(await names('&limit=2'), ['Dr. Far', 'Dr. Karim']);
      const page = (await w.req('GET', `/v1/availability?date=${TUESDAY}&limit=2`)).json();
      const rest = (
        await w.req('GET', `/v1/availability?date=${TUESDAY}&limit=2&cursor=${page.nextCursor}`)
      ).json();
      assert.deepEqual(
        rest.items.map((i: { doctor: { name: string } }) => i.doctor.name),
        ['Dr. Skin'],
      );
      assert.equal(rest.nextCursor, null);
    });
  });
}
