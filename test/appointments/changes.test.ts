import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { addDependent, makeDoctor, makeHospital, makePatients, makeSession } from './fixtures.js';

const MONDAY_9AM = '2025-06-02T03:00:00Z';
const TUESDAY = '2025-06-03';
const NEXT_TUESDAY = '2025-06-10';

async function world(t: TestContext, backend: 'postgres' | 'pglite', env: Record<string, string> = {}) {
  const clock = new ManualClock(MONDAY_9AM);
  const { app } = await buildTestApp(t, { backend, clock, env });
  const hospitalId = await makeHospital(app, { name: 'Green Clinic' });
  const doctor = await makeDoctor(app, { name: 'Dr. Hasan' });
  const sessionId = await makeSession(app, {
    doctorId: doctor.doctorId,
    hospitalId,
    weekday: 2,
    capacity: 3,
  });
  const patients = await makePatients(app, 4);
  const book = async (auth: { authorization: string }, payload: Record<string, unknown>) => {
    const res = await app.inject({ method: 'POST', url: '/v1/appointments', headers: auth, payload });
    return res;
  };
  const post = (auth: { authorization: string }, url: string, payload?: Record<string, unknown>) =>
    app.inject({ method: 'POST', url, headers: auth, ...(payload ? { payload } : {}) });
  return { app, clock, hospitalId, doctor, sessionId, patients, book, post };
}

for (const backend of await databaseBackends()) {
  describe(`appointment changes [${backend}]`, () => {
    test('cancel frees the place, never reuses the serial, and records the event', async (t) => {
      const w = await world(t, backend);
      const [a, b] = w.patients;
      const first = (await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY })).json();
      const res = await w.post(a.auth, `/v1/appointments/${first.id}/cancel`, { reason: 'feeling better' });
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().status, 'cancelled');
      assert.equal(res.json().cancelReason, 'feeling better');
      const again = await w.post(a.auth, `/v1/appointments/${first.id}/cancel`, { reason: 'twice' });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'INVALID_TRANSITION');
      const next = (await w.book(b.auth, { sessionId: w.sessionId, date: TUESDAY })).json();
      assert.equal(next.serial, 2, 'the cancelled serial 1 is not handed out again');
      const rebook = await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(rebook.statusCode, 201, 'a cancelled booking does not block a new one');
      assert.equal(rebook.json().serial, 3);
      const day = await w.app.db
        .selectFrom('sessionDays')
        .select(['bookedCount', 'version'])
        .where('id', '=', first.queueId)
        .executeTakeFirstOrThrow();
      assert.equal(day.bookedCount, 2);
      const types = await w.app.db
        .selectFrom('queueEvents')
        .select('type')
        .where('queueId', '=', first.queueId)
        .orderBy('version')
        .execute();
      assert.deepEqual(
        types.map((e) => e.type),
        ['booked', 'cancelled', 'booked', 'booked'],
      );
      assert.equal(day.version, 4);
    });

    test('a patient cancels only before the cutoff; staff and the doctor any time; strangers get 404', async (t) => {
      const w = await world(t, backend, { CANCEL_CUTOFF_MINUTES: '60' });
      const [a, b, c] = w.patients;
      const staff = await makeUser(w.app, 'staff', { hospitalId: w.hospitalId });
      const ids = [];
      for (const p of [a, b, c])
        ids.push((await w.book(p.auth, { sessionId: w.sessionId, date: TUESDAY })).json().id);
      const stranger = await w.post(b.auth, `/v1/appointments/${ids[0]}/cancel`, { reason: 'x' });
      assert.equal(stranger.statusCode, 404);
      w.clock.set('2025-06-03T02:00:00Z'); // 08:00 local: one hour before the 09:00 start
      const late = await w.post(a.auth, `/v1/appointments/${ids[0]}/cancel`, { reason: 'late' });
      assert.equal(late.statusCode, 403);
      const byStaff = await w.post(staff.auth, `/v1/appointments/${ids[0]}/cancel`, { reason: 'clinic' });
      assert.equal(byStaff.statusCode, 200);
      const byDoctor = await w.post(w.doctor.auth, `/v1/appointments/${ids[1]}/cancel`, {});
      assert.equal(byDoctor.statusCode, 200);
      assert.equal(byDoctor.json().cancelReason, 'Cancelled by the clinic');
    });

    test('confirm moves booked to confirmed once', async (t) => {
      const w = await world(t, backend);
      const [a] = w.patients;
      const appt = (await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY })).json();
      const res = await w.post(a.auth, `/v1/appointments/${appt.id}/confirm`);
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().status, 'confirmed');
      assert.ok(res.json().confirmedAt);
      const twice = await w.post(a.auth, `/v1/appointments/${appt.id}/confirm`);
      assert.equal(twice.json().code, 'INVALID_TRANSITION');
    });

    test('reschedule moves the booking atomically and keeps the tracking token working', async (t) => {
      const w = await world(t, backend);
      const [a] = w.patients;
      const appt = (await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY })).json();
      const res = await w.post(a.auth, `/v1/appointments/${appt.id}/reschedule`, {
        sessionId: w.sessionId,
        date: NEXT_TUESDAY,
      });
      assert.equal(res.statusCode, 200, res.body);
      const moved = res.json();
      assert.notEqual(moved.id, appt.id);
      assert.equal(moved.date, NEXT_TUESDAY);
      assert.equal(moved.serial, 1);
      assert.equal(moved.status, 'booked');
      const old = (await w.app.inject({ url: `/v1/appointments/${appt.id}`, headers: a.auth })).json();
      assert.equal(old.status, 'cancelled');
      const tokenRow = await w.app.db
        .selectFrom('appointments')
        .select('id')
        .where(
          'trackingTokenHash',
          '=',
          (await import('../../src/lib/tokens.js')).hashToken(appt.trackingToken),
        )
        .executeTakeFirstOrThrow();
      assert.equal(tokenRow.id, moved.id);
      const counts = await w.app.db
        .selectFrom('sessionDays')
        .select(['date', 'bookedCount'])
        .orderBy('date')
        .execute();
      assert.deepEqual(
        counts.map((c) => [c.date, c.bookedCount]),
        [
          [TUESDAY, 0],
          [NEXT_TUESDAY, 1],
        ],
      );
    });

    test('a refused reschedule leaves the old booking intact', async (t) => {
      const w = await world(t, backend);
      const [a, b, c, d] = w.patients;
      const appt = (await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY })).json();
      for (const p of [b, c, d]) await w.book(p.auth, { sessionId: w.sessionId, date: NEXT_TUESDAY });
      const full = await w.post(a.auth, `/v1/appointments/${appt.id}/reschedule`, {
        sessionId: w.sessionId,
        date: NEXT_TUESDAY,
      });
      assert.equal(full.statusCode, 409);
      assert.equal(full.json().code, 'SESSION_FULL');
      const wrongDay = await w.post(a.auth, `/v1/appointments/${appt.id}/reschedule`, {
        sessionId: w.sessionId,
        date: '2025-06-11',
      });
      assert.equal(wrongDay.statusCode, 422);
      const still = (await w.app.inject({ url: `/v1/appointments/${appt.id}`, headers: a.auth })).json();
      assert.equal(still.status, 'booked');
      assert.equal(still.serial, 1);
    });

    test('lists are scoped by role, filter and paginate; detail is hidden from others', async (t) => {
      const w = await world(t, backend);
      const [a, b] = w.patients;
      const child = await addDependent(w.app, a.id);
      const otherHospital = await makeHospital(w.app);
      const otherDoctor = await makeDoctor(w.app);
      const otherSession = await makeSession(w.app, {
        doctorId: otherDoctor.doctorId,
        hospitalId: otherHospital,
        weekday: 2,
      });
      const mine = (await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY })).json();
      await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY, profileId: child });
      await w.book(a.auth, { sessionId: otherSession, date: NEXT_TUESDAY });
      await w.book(b.auth, { sessionId: w.sessionId, date: NEXT_TUESDAY });
      const staff = await makeUser(w.app, 'staff', { hospitalId: w.hospitalId });
      const admin = await makeUser(w.app, 'admin');
      const list = async (auth: { authorization: string }, qs = '') =>
        (await w.app.inject({ url: `/v1/appointments${qs}`, headers: auth })).json();
      assert.equal((await list(a.auth)).items.length, 3, 'own and dependents');
      assert.equal((await list(b.auth)).items.length, 1);
      assert.equal((await list(w.doctor.auth)).items.length, 3, "the doctor's patients");
      assert.equal((await list(staff.auth)).items.length, 3, 'the hospital');
      assert.equal((await list(admin.auth)).items.length, 4);
      assert.equal((await list(w.doctor.auth, `?date=${TUESDAY}`)).items.length, 2);
      assert.equal((await list(admin.auth, `?doctorId=${otherDoctor.doctorId}`)).items.length, 1);
      assert.equal((await list(admin.auth, `?hospitalId=${otherHospital}`)).items.length, 1);
      await w.post(a.auth, `/v1/appointments/${mine.id}/cancel`, { reason: 'x' });
      assert.equal((await list(admin.auth, '?status=cancelled')).items.length, 1);
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page: { items: { id: string }[]; nextCursor: string | null } = await list(
          admin.auth,
          `?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        );
        seen.push(...page.items.map((i) => i.id));
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal(new Set(seen).size, 4);
      const hidden = await w.app.inject({ url: `/v1/appointments/${mine.id}`, headers: b.auth });
      assert.equal(hidden.statusCode, 404);
      const otherDoc = await w.app.inject({ url: `/v1/appointments/${mine.id}`, headers: otherDoctor.auth });
      assert.equal(otherDoc.statusCode, 404);
      const doc = await w.app.inject({ url: `/v1/appointments/${mine.id}`, headers: w.doctor.auth });
      assert.equal(doc.statusCode, 200);
      assert.equal(doc.json().doctor.name, 'Dr. Hasan');
    });

    test('calendar.ics is valid iCalendar in the hospital zone', async (t) => {
      const w = await world(t, backend);
      const [a, b] = w.patients;
      const appt = (await w.book(a.auth, { sessionId: w.sessionId, date: TUESDAY })).json();
      const res = await w.app.inject({ url: `/v1/appointments/${appt.id}/calendar.ics`, headers: a.auth });
      assert.equal(res.statusCode, 200);
      assert.match(res.headers['content-type'] as string, /^text\/calendar/);
      const text = res.body;
      assert.match(text, /^BEGIN:VCALENDAR\r\n/);
      assert.match(text, /BEGIN:VTIMEZONE\r\nTZID:Asia\/Dhaka/);
      assert.match(text, /DTSTART;TZID=Asia\/Dhaka:20250603T090000/);
      assert.match(text, /DTEND;TZID=Asia\/Dhaka:20250603T091000/);
      assert.match(text, /LOCATION:Green Clinic/);
      assert.match(text, /END:VCALENDAR/);
      const other = await w.app.inject({ url: `/v1/appointments/${appt.id}/calendar.ics`, headers: b.auth });
      assert.equal(other.statusCode, 404);
    });

    test('waitlist: a cancellation offers the place to the first in line; the offer holds it, then lapses', async (t) => {
      const w = await world(t, backend, { WAITLIST_OFFER_MINUTES: '15' });
      const [a, b, c, d] = w.patients;
      const [e, f] = await makePatients(w.app, 2);
      const offers: { entryId: string; expiresAt: string }[] = [];
      w.app.events.afterCommit('waitlist.offered', (o) => {
        offers.push(o);
      });
      const booked = [];
      for (const p of [a, b, c])
        booked.push((await w.book(p.auth, { sessionId: w.sessionId, date: TUESDAY })).json());
      const full = await w.book(d.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(full.json().code, 'SESSION_FULL');
      const queueId = full.json().details.queueId;
      const join = (p: { auth: { authorization: string } }) =>
        w.post(p.auth, `/v1/queues/${queueId}/waitlist`, {});
      const dEntry = await join(d);
      assert.equal(dEntry.statusCode, 201, dEntry.body);
      assert.equal((await join(d)).statusCode, 409, 'once per profile');
      const eEntry = (await join(e)).json();
      assert.equal((await join(a)).json().code, 'ALREADY_BOOKED');

      await w.post(a.auth, `/v1/appointments/${booked[0].id}/cancel`, { reason: 'x' });
      assert.equal(offers.length, 1);
      assert.equal(offers[0].entryId, dEntry.json().id);
      // The held place is not bookable by anyone else.
      const outsider = await w.book(f.auth, { sessionId: w.sessionId, date: TUESDAY });
      assert.equal(outsider.json().code, 'SESSION_FULL');
      const notYours = await w.post(e.auth, `/v1/waitlist/${dEntry.json().id}/accept`);
      assert.equal(notYours.statusCode, 404);

      // The offer lapses; the sweep passes it to the next in line.
      w.clock.advance(16 * 60_000);
      const swept = await w.app.appointments.waitlist.sweepLapsedOffers();
      assert.deepEqual(swept, { queues: 1, offered: 1 });
      assert.equal(offers.at(-1)?.entryId, eEntry.id);
      const lapsed = await w.post(d.auth, `/v1/waitlist/${dEntry.json().id}/accept`);
      assert.equal(lapsed.statusCode, 409);
      const accepted = await w.post(e.auth, `/v1/waitlist/${eEntry.id}/accept`);
      assert.equal(accepted.statusCode, 201, accepted.body);
      assert.equal(accepted.json().serial, 4);
      const mine = (await w.app.inject({ url: '/v1/waitlist', headers: e.auth })).json();
      assert.equal(mine.items[0].status, 'booked');
      const day = await w.app.db
        .selectFrom('sessionDays')
        .select(['bookedCount', 'capacity'])
        .where('id', '=', queueId)
        .executeTakeFirstOrThrow();
      assert.equal(day.bookedCount, day.capacity, 'never more than capacity');
    });
  });
}
