import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { makeDoctor, makeHospital, makePatients, makeSession } from '../appointments/fixtures.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';

// Monday 2025-06-02, 09:00 in Dhaka (UTC+6). Tuesday's session runs 09:00–10:00 local, 6 serials of 10 min.
const MONDAY_9AM = '2025-06-02T03:00:00Z';
const TUESDAY = '2025-06-03';

async function world(t: TestContext, backend: 'postgres' | 'pglite', capacity = 6) {
  const clock = new ManualClock(MONDAY_9AM);
  const { app } = await buildTestApp(t, { backend, clock });
  const hospitalId = await makeHospital(app);
  const doctor = await makeDoctor(app);
  const sessionId = await makeSession(app, {
    doctorId: doctor.doctorId,
    hospitalId,
    weekday: 2,
    start: '09:00',
    end: '10:00',
    slotMinutes: 10,
    capacity,
  });
  const patients = await makePatients(app, 4);
  const serials = (date: string, id = sessionId) =>
    app.inject({ method: 'GET', url: `/v1/sessions/${id}/serials?date=${date}` });
  const book = (n: number, body: Record<string, unknown> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/appointments',
      headers: patients[n].auth,
      payload: { sessionId, date: TUESDAY, ...body },
    });
  return { app, clock, doctor, sessionId, patients, serials, book };
}

for (const backend of await databaseBackends()) {
  describe(`free serials [${backend}]`, () => {
    test('an untouched day offers every serial with its scheduled time', async (t) => {
      const w = await world(t, backend);
      const res = await w.serials(TUESDAY);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.nextCursor, null);
      assert.deepEqual(
        body.items.map((i: { serial: number }) => i.serial),
        [1, 2, 3, 4, 5, 6],
      );
      assert.equal(new Date(body.items[0].estimatedAt).toISOString(), '2025-06-03T03:00:00.000Z');
      assert.equal(new Date(body.items[5].estimatedAt).toISOString(), '2025-06-03T03:50:00.000Z');
    });

    test('booked and cancelled serials are left out; a chosen one can then be booked', async (t) => {
      const w = await world(t, backend);
      const first = await w.book(0);
      assert.equal(first.statusCode, 201, first.body);
      const picked = await w.book(1, { serial: 4 });
      assert.equal(picked.statusCode, 201, picked.body);
      const third = await w.book(2);
      assert.equal(third.statusCode, 201, third.body);
      const cancel = await w.app.inject({
        method: 'POST',
        url: `/v1/appointments/${third.json().id}/cancel`,
        headers: w.patients[2].auth,
        payload: {},
      });
      assert.equal(cancel.statusCode, 200, cancel.body);
      const res = await w.serials(TUESDAY);
      assert.equal(res.statusCode, 200, res.body);
      const free = res.json().items.map((i: { serial: number }) => i.serial);
      assert.deepEqual(free, [3, 5, 6]);
      const chosen = await w.book(3, { serial: free[1] });
      assert.equal(chosen.statusCode, 201, chosen.body);
      assert.equal(chosen.json().serial, 5);
      const after = await w.serials(TUESDAY);
      assert.deepEqual(
        after.json().items.map((i: { serial: number }) => i.serial),
        [3, 6],
      );
    });

    test('a full day has no free serial', async (t) => {
      const w = await world(t, backend, 2);
      assert.equal((await w.book(0)).statusCode, 201);
      assert.equal((await w.book(1)).statusCode, 201);
      const res = await w.serials(TUESDAY);
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().items, []);
    });

    test('a day whose booking has closed is refused', async (t) => {
      const w = await world(t, backend);
      // Tuesday 09:25 local: booking closes at the start (bookingClosesMinutes 0), so the day is refused.
      w.clock.set(new Date('2025-06-03T03:25:00Z'));
      const res = await w.serials(TUESDAY);
      assert.equal(res.statusCode, 422, res.body);
      assert.equal(res.json().code, 'DATE_NOT_BOOKABLE');
      assert.equal(res.json().details.reason, 'booking_closed');
    });

    test('refuses what booking refuses: past, wrong weekday, not open yet, time off', async (t) => {
      const w = await world(t, backend);
      const past = await w.serials('2025-05-27');
      assert.equal(past.statusCode, 422, past.body);
      assert.equal(past.json().details.reason, 'past');
      const wednesday = await w.serials('2025-06-04');
      assert.equal(wednesday.json().code, 'DATE_NOT_BOOKABLE');
      assert.equal(wednesday.json().details.reason, 'not_session_day');
      const far = await w.serials('2025-12-30');
      assert.equal(far.json().details.reason, 'not_open_yet');
      const off = await w.app.inject({
        method: 'POST',
        url: `/v1/doctors/${w.doctor.doctorId}/time-off`,
        headers: w.doctor.auth,
        payload: { from: TUESDAY, to: TUESDAY },
      });
      assert.equal(off.statusCode, 201, off.body);
      const away = await w.serials(TUESDAY);
      assert.equal(away.statusCode, 422, away.body);
      assert.equal(away.json().details.reason, 'time_off');
      const booking = await w.book(0);
      assert.equal(booking.json().code, 'DATE_NOT_BOOKABLE');
    });

    test('bad input answers 400 or 404 in the error shape', async (t) => {
      const w = await world(t, backend);
      const noDate = await w.app.inject({ method: 'GET', url: `/v1/sessions/${w.sessionId}/serials` });
      assert.equal(noDate.statusCode, 400);
      assert.equal(noDate.json().code, 'VALIDATION_FAILED');
      const badDate = await w.serials('2025-13-40');
      assert.equal(badDate.statusCode, 400);
      const badId = await w.serials(TUESDAY, 'not-a-uuid');
      assert.equal(badId.statusCode, 400);
      const unknown = await w.serials(TUESDAY, '00000000-0000-4000-8000-000000000000');
      assert.equal(unknown.statusCode, 404);
      assert.equal(unknown.json().code, 'NOT_FOUND');
    });
  });
}
