import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { hashToken } from '../../src/lib/tokens.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import {
  addDependent,
  makeDoctor,
  makeHospital,
  makePatients,
  makeSession,
  makeSpecialization,
} from './fixtures.js';

// Monday 2025-06-02, 09:00 in Dhaka (UTC+6). Tuesday's session runs 09:00–12:00 local.
const MONDAY_9AM = '2025-06-02T03:00:00Z';
const TUESDAY = '2025-06-03';

async function world(
  t: TestContext,
  backend: 'postgres' | 'pglite',
  session: Partial<Parameters<typeof makeSession>[1]> = {},
) {
  const clock = new ManualClock(MONDAY_9AM);
  const { app } = await buildTestApp(t, { backend, clock });
  const hospitalId = await makeHospital(app);
  const doctor = await makeDoctor(app);
  const sessionId = await makeSession(app, { doctorId: doctor.doctorId, hospitalId, weekday: 2, ...session });
  const [patient, other] = await makePatients(app, 2);
  const book = (
    auth: { authorization: string },
    payload: Record<string, unknown>,
    headers: Record<string, string> = {},
  ) => app.inject({ method: 'POST', url: '/v1/appointments', headers: { ...auth, ...headers }, payload });
  return { app, clock, hospitalId, doctor, sessionId, patient, other, book };
}

async function queueCounters(app: Awaited<ReturnType<typeof world>>['app'], queueId: string) {
  return app.db
    .selectFrom('sessionDays')
    .select(['bookedCount', 'nextSerial', 'version'])
    .where('id', '=', queueId)
    .executeTakeFirstOrThrow();
}

for (const backend of await databaseBackends()) {
  describe(`booking [${backend}]`, () => {
    test('a patient books serial 1 with its estimated time, queue and a working tracking token', async (t) => {
      const w = await world(t, backend);
      const res = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(res.statusCode, 201, res.body);
      const body = res.json();
      assert.equal(body.serial, 1);
      assert.equal(body.status, 'booked');
      assert.equal(body.date, TUESDAY);
      assert.equal(body.estimatedAt, '2025-06-03T09:00:00+06:00');
      assert.equal(body.profileId, w.patient.profileId);
      assert.ok(body.queueId);
      assert.equal(typeof body.trackingToken, 'string');
      const stored = await w.app.db
        .selectFrom('appointments')
        .select('trackingTokenHash')
        .where('id', '=', body.id)
        .executeTakeFirstOrThrow();
      assert.equal(stored.trackingTokenHash, hashToken(body.trackingToken), 'only the hash is stored');
      const second = await w.book(w.other.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(second.json().serial, 2);
      assert.equal(second.json().estimatedAt, '2025-06-03T09:10:00+06:00');
      const q = await queueCounters(w.app, body.queueId);
      assert.equal(q.bookedCount, 2);
      const events = await w.app.db
        .selectFrom('queueEvents')
        .select(['type', 'version', 'serial'])
        .where('queueId', '=', body.queueId)
        .orderBy('version')
        .execute();
      assert.deepEqual(
        events.map((e) => [e.type, e.version, e.serial]),
        [
          ['booked', 1, 1],
          ['booked', 2, 2],
        ],
      );
    });

    test('dates that are not bookable answer 422 DATE_NOT_BOOKABLE with the reason and write nothing', async (t) => {
      const w = await world(t, backend, {
        validTo: '2025-06-20',
        bookingOpensDays: 14,
        bookingClosesMinutes: 30,
      });
      await w.app.db
        .insertInto('timeOff')
        .values({
          doctorId: w.doctor.doctorId,
          fromDate: '2025-06-10',
          toDate: '2025-06-10',
          reason: 'conference',
        })
        .execute();
      const cases: [string, string][] = [
        ['2025-05-27', 'past'],
        ['2025-06-04', 'not_session_day'],
        ['2025-06-24', 'outside_validity'],
        ['2025-06-10', 'time_off'],
        ['2025-06-17', 'not_open_yet'],
      ];
      for (const [date, reason] of cases) {
        const res = await w.book(w.patient.auth, { sessionId: w.sessionId, date });
        assert.equal(res.statusCode, 422, `${date}: ${res.body}`);
        assert.equal(res.json().code, 'DATE_NOT_BOOKABLE');
        assert.equal(res.json().details.reason, reason, date);
      }
      // Tuesday 08:30 local is 30 minutes before the start: booking has just closed.
      w.clock.set('2025-06-03T02:30:00Z');
      const closed = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(closed.json().details.reason, 'booking_closed');
      w.clock.set('2025-06-03T02:29:00Z');
      assert.equal((await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY })).statusCode, 201);
      const count = await w.app.db
        .selectFrom('appointments')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 1);
    });

    test('a closed queue refuses bookings with reason queue_closed', async (t) => {
      const w = await world(t, backend);
      const first = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY });
      await w.app.db
        .updateTable('sessionDays')
        .set({ status: 'closed' })
        .where('id', '=', first.json().queueId)
        .execute();
      const res = await w.book(w.other.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(res.statusCode, 422);
      assert.equal(res.json().details.reason, 'queue_closed');
    });

    test('bad input gets 4xx: unknown session 404, malformed date 400, someone else’s dependent 404', async (t) => {
      const w = await world(t, backend);
      const unknown = await w.book(w.patient.auth, {
        sessionId: '00000000-0000-4000-8000-000000000000',
        date: TUESDAY,
      });
      assert.equal(unknown.statusCode, 404);
      const malformed = await w.book(w.patient.auth, { sessionId: w.sessionId, date: '03/06/2025' });
      assert.equal(malformed.statusCode, 400);
      assert.equal(malformed.json().code, 'VALIDATION_FAILED');
      const theirs = await addDependent(w.app, w.other.id);
      const foreign = await w.book(w.patient.auth, {
        sessionId: w.sessionId,
        date: TUESDAY,
        profileId: theirs,
      });
      assert.equal(foreign.statusCode, 404);
      const noAuth = await w.app.inject({
        method: 'POST',
        url: '/v1/appointments',
        payload: { sessionId: w.sessionId, date: TUESDAY },
      });
      assert.equal(noAuth.statusCode, 401);
      const doctor = await w.book(w.doctor.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(doctor.statusCode, 403);
      const rows = await w.app.db.selectFrom('appointments').select('id').execute();
      assert.equal(rows.length, 0);
      const days = await w.app.db.selectFrom('sessionDays').select('id').execute();
      assert.equal(days.length, 0, 'a refused booking creates no queue');
    });

    test('a patient books for a dependent; one active appointment per profile per doctor per day', async (t) => {
      const w = await world(t, backend);
      const child = await addDependent(w.app, w.patient.id);
      assert.equal((await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY })).statusCode, 201);
      const again = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'ALREADY_BOOKED');
      const forChild = await w.book(w.patient.auth, {
        sessionId: w.sessionId,
        date: TUESDAY,
        profileId: child,
      });
      assert.equal(forChild.statusCode, 201);
      assert.equal(forChild.json().serial, 2, 'the refused attempt used no serial');
      // A second session of the same doctor the same day still counts as the same doctor and day.
      const evening = await makeSession(w.app, {
        doctorId: w.doctor.doctorId,
        hospitalId: w.hospitalId,
        weekday: 2,
        start: '17:00',
        end: '19:00',
      });
      const second = await w.book(w.patient.auth, { sessionId: evening, date: TUESDAY });
      assert.equal(second.json().code, 'ALREADY_BOOKED');
    });

    test('the partial unique index backs the one-per-day rule and maps to ALREADY_BOOKED', async (t) => {
      const w = await world(t, backend);
      const first = (await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY })).json();
      await assert.rejects(
        w.app.db
          .insertInto('appointments')
          .values({
            queueId: first.queueId,
            doctorId: w.doctor.doctorId,
            date: TUESDAY,
            profileId: w.patient.profileId,
            serial: 99,
            positionKey: 99,
            estimatedAt: new Date(),
            trackingTokenHash: 'x',
          })
          .execute(),
        (err: { code?: string }) => err.code === '23505',
      );
    });

    test('staff book on behalf of a patient of their hospital only; admin anywhere', async (t) => {
      const w = await world(t, backend);
      const staff = await makeUser(w.app, 'staff', { hospitalId: w.hospitalId });
      const elsewhere = await makeUser(w.app, 'staff', { hospitalId: await makeHospital(w.app) });
      const admin = await makeUser(w.app, 'admin');
      const missing = await w.book(staff.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(missing.statusCode, 400, 'staff must name the profile');
      const ok = await w.book(staff.auth, {
        sessionId: w.sessionId,
        date: TUESDAY,
        profileId: w.patient.profileId,
      });
      assert.equal(ok.statusCode, 201);
      assert.equal(ok.json().bookedBy, staff.id);
      const refused = await w.book(elsewhere.auth, {
        sessionId: w.sessionId,
        date: TUESDAY,
        profileId: w.other.profileId,
      });
      assert.equal(refused.statusCode, 403);
      const byAdmin = await w.book(admin.auth, {
        sessionId: w.sessionId,
        date: TUESDAY,
        profileId: w.other.profileId,
      });
      assert.equal(byAdmin.statusCode, 201);
    });

    test('a requested serial is given when free and within capacity, else 409', async (t) => {
      const w = await world(t, backend, { capacity: 5 });
      const picked = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY, serial: 3 });
      assert.equal(picked.statusCode, 201);
      assert.equal(picked.json().serial, 3);
      assert.equal(picked.json().estimatedAt, '2025-06-03T09:20:00+06:00');
      const [a, b, c] = await makePatients(w.app, 3);
      const taken = await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY, serial: 3 });
      assert.equal(taken.statusCode, 409);
      const beyond = await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY, serial: 6 });
      assert.equal(beyond.statusCode, 409);
      const serials = [];
      for (const p of [a, b, c])
        serials.push((await w.book(p.auth, { sessionId: w.sessionId, date: TUESDAY })).json().serial);
      assert.deepEqual(serials, [1, 2, 4], 'automatic serials skip the picked one');
    });

    test('a full session answers 409 SESSION_FULL with alternatives', async (t) => {
      const w = await world(t, backend, { capacity: 2 });
      const spec = await makeSpecialization(w.app, 'Cardiology');
      await w.app.db
        .insertInto('doctorSpecializations')
        .values({ doctorId: w.doctor.doctorId, specializationId: spec })
        .execute();
      const colleague = await makeDoctor(w.app, { specializationIds: [spec], name: 'Dr. Colleague' });
      await makeSession(w.app, {
        doctorId: colleague.doctorId,
        hospitalId: w.hospitalId,
        weekday: 2,
        start: '14:00',
        end: '16:00',
      });
      const stranger = await makeDoctor(w.app, { name: 'Dr. Other Field' });
      await makeSession(w.app, { doctorId: stranger.doctorId, hospitalId: w.hospitalId, weekday: 2 });
      const [a, b, c] = await makePatients(w.app, 3);
      for (const p of [a, b])
        assert.equal((await w.book(p.auth, { sessionId: w.sessionId, date: TUESDAY })).statusCode, 201);
      const full = await w.book(c.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(full.statusCode, 409);
      const body = full.json();
      assert.equal(body.code, 'SESSION_FULL');
      assert.deepEqual(body.details.alternatives.dates.slice(0, 2), ['2025-06-10', '2025-06-17']);
      assert.deepEqual(
        body.details.alternatives.doctors.map((d: { id: string }) => d.id),
        [colleague.doctorId],
      );
      const q = await queueCounters(w.app, body.details.queueId);
      assert.equal(q.nextSerial, 3, 'the refused booking took no serial');
      assert.equal(q.bookedCount, 2);
    });

    test('an Idempotency-Key retry returns the first result; reuse with another body is refused', async (t) => {
      const w = await world(t, backend);
      const headers = { 'idempotency-key': 'retry-1' };
      const first = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY }, headers);
      assert.equal(first.statusCode, 201);
      const retry = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY }, headers);
      assert.equal(retry.statusCode, 201);
      assert.deepEqual(retry.json(), first.json());
      const different = await w.book(w.patient.auth, { sessionId: w.sessionId, date: '2025-06-10' }, headers);
      assert.equal(different.statusCode, 409);
      const otherUser = await w.book(w.other.auth, { sessionId: w.sessionId, date: TUESDAY }, headers);
      assert.equal(otherUser.statusCode, 201, 'keys are per user');
      assert.equal(otherUser.json().serial, 2);
      const rows = await w.app.db.selectFrom('appointments').select('id').execute();
      assert.equal(rows.length, 2);
    });

    test('the answer equals the stored appointment; outbox rows commit with the booking, and a failing in-transaction handler leaves no trace and uses no serial', async (t) => {
      const w = await world(t, backend);
      const dependent = await addDependent(w.app, w.patient.id, 'Little One');
      const first = await w.book(w.patient.auth, {
        sessionId: w.sessionId,
        date: TUESDAY,
        profileId: dependent,
      });
      assert.equal(first.statusCode, 201, first.body);
      const { trackingToken, ...answered } = first.json();
      assert.equal(typeof trackingToken, 'string');
      const got = await w.app.inject({
        method: 'GET',
        url: `/v1/appointments/${answered.id}`,
        headers: w.patient.auth,
      });
      assert.equal(got.statusCode, 200);
      assert.deepEqual(answered, got.json(), 'the answer is built without a re-read and matches the row');
      assert.equal(answered.patientName, 'Little One');
      const outbox = await w.app.db
        .selectFrom('notificationOutbox')
        .select('kind')
        .where('appointmentId', '=', answered.id)
        .execute();
      assert.ok(
        outbox.some((r) => r.kind === 'confirmation'),
        'the confirmation is written in the booking transaction',
      );

      let failing = true;
      w.app.events.inTransaction('appointment.booked', async () => {
        if (failing) throw new Error('outbox write failed');
      });
      const refused = await w.book(w.other.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(refused.statusCode, 500);
      const rows = await w.app.db.selectFrom('appointments').select(['id', 'profileId']).execute();
      assert.deepEqual(
        rows.map((r) => r.profileId),
        [dependent],
        'the refused booking left no appointment',
      );
      assert.deepEqual(await queueCounters(w.app, answered.queueId), {
        bookedCount: 1,
        nextSerial: 2,
        version: 1,
      });
      const events = await w.app.db.selectFrom('queueEvents').select('version').execute();
      assert.equal(events.length, 1, 'and no queue event');
      const strays = await w.app.db
        .selectFrom('notificationOutbox')
        .select('id')
        .where('appointmentId', '!=', answered.id)
        .execute();
      assert.equal(strays.length, 0, 'and no outbox rows');
      failing = false;
      const next = await w.book(w.other.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(next.statusCode, 201);
      assert.equal(next.json().serial, 2, 'the failed attempt used no serial');
    });

    test('a refused booking does not keep its Idempotency-Key: the retry after a place frees up books', async (t) => {
      const w = await world(t, backend, { capacity: 1 });
      const first = await w.book(w.other.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(first.statusCode, 201);
      const headers = { 'idempotency-key': 'when-free' };
      const full = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY }, headers);
      assert.equal(full.json().code, 'SESSION_FULL');
      const cancel = await w.app.inject({
        method: 'POST',
        url: `/v1/appointments/${first.json().id}/cancel`,
        headers: w.other.auth,
        payload: {},
      });
      assert.equal(cancel.statusCode, 200, cancel.body);
      const retry = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY }, headers);
      assert.equal(retry.statusCode, 201, retry.body);
      assert.equal(retry.json().serial, 2, 'serial 1 is never handed out again');
      const again = await w.book(w.patient.auth, { sessionId: w.sessionId, date: TUESDAY }, headers);
      assert.deepEqual(again.json(), retry.json());
    });

    test('DST: on the spring-forward day in Europe/Berlin estimated times count real minutes', async (t) => {
      // Sunday 2025-03-30: clocks jump from 02:00 to 03:00 local.
      const clock = new ManualClock('2025-03-28T12:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock });
      const hospitalId = await makeHospital(app, { timezone: 'Europe/Berlin', city: 'Berlin' });
      const doctor = await makeDoctor(app);
      const sessionId = await makeSession(app, {
        doctorId: doctor.doctorId,
        hospitalId,
        weekday: 7,
        start: '01:00',
        end: '05:00',
        slotMinutes: 30,
        capacity: 6,
      });
      const patients = await makePatients(app, 4);
      const got: string[] = [];
      for (const p of patients) {
        const res = await app.inject({
          method: 'POST',
          url: '/v1/appointments',
          headers: p.auth,
          payload: { sessionId, date: '2025-03-30' },
        });
        assert.equal(res.statusCode, 201, res.body);
        got.push(res.json().estimatedAt);
      }
      assert.deepEqual(got, [
        '2025-03-30T01:00:00+01:00',
        '2025-03-30T01:30:00+01:00',
        '2025-03-30T03:00:00+02:00',
        '2025-03-30T03:30:00+02:00',
      ]);
      const avail = await app.inject({
        url: `/v1/doctors/${doctor.doctorId}/availability?from=2025-03-29&to=2025-04-06`,
      });
      const items = avail.json().items;
      assert.deepEqual(
        items.map((i: { date: string; start: string; end: string }) => [i.date, i.start, i.end]),
        [
          ['2025-03-30', '2025-03-30T01:00:00+01:00', '2025-03-30T05:00:00+02:00'],
          ['2025-04-06', '2025-04-06T01:00:00+02:00', '2025-04-06T05:00:00+02:00'],
        ],
      );
      assert.equal(items[0].nextEstimatedAt, '2025-03-30T04:00:00+02:00');
    });
  });
}
