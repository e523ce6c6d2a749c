// The time a patient is told when booking is the live estimate, the same the tracking page shows: never
// before now, never before the slot, and behind everyone still waiting when the queue runs late (issue 12).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeDoctor, makeHospital, makePatients, makeSession } from './fixtures.js';

// Monday 2025-06-02 in Dhaka (UTC+6); the session runs 09:00–17:00 local, 10 minutes a patient, and takes
// bookings until 5 hours after it starts.
const MONDAY = '2025-06-02';
const AT_8 = '2025-06-02T02:00:00Z';
const AT_11 = '2025-06-02T05:00:00Z';

for (const backend of await databaseBackends()) {
  describe(`the time told at booking [${backend}]`, () => {
    test('a late queue tells a new booking the live estimate in the answer, the SMS and /track', async (t) => {
      const clock = new ManualClock(AT_8);
      const { app } = await buildTestApp(t, { backend, clock, env: { NOTIFY_CRON: 'false' } });
      const hospitalId = await makeHospital(app);
      const doctor = await makeDoctor(app);
      const sessionId = await makeSession(app, {
        doctorId: doctor.doctorId,
        hospitalId,
        weekday: 1,
        start: '09:00',
        end: '17:00',
        capacity: 40,
        bookingClosesMinutes: -300,
      });
      const patients = await makePatients(app, 6);
      const book = (i: number) =>
        app.inject({
          method: 'POST',
          url: '/v1/appointments',
          headers: patients[i].auth,
          payload: { sessionId, date: MONDAY },
        });
      // Before the session, the first five are told their slots.
      for (let i = 0; i < 5; i++) {
        const res = await book(i);
        assert.equal(res.statusCode, 201, res.body);
        assert.equal(Date.parse(res.json().estimatedAt), Date.parse(AT_8) + 3_600_000 + i * 600_000);
      }
      // 11:00: the doctor has seen nobody yet, five are waiting. Serial 6's slot (09:50) is long past.
      clock.set(AT_11);
      const late = await book(5);
      assert.equal(late.statusCode, 201, late.body);
      const answer = late.json();
      assert.equal(answer.serial, 6);
      const told = Date.parse(answer.estimatedAt);
      assert.ok(told >= Date.parse(AT_11), `told ${answer.estimatedAt}, before now`);
      assert.equal(told, Date.parse(AT_11) + 5 * 600_000, 'five ahead × the 10-minute average');

      const track = (await app.inject({ url: `/v1/track/${answer.trackingToken}` })).json();
      assert.equal(Date.parse(track.etaAt), told, 'the tracking page shows the same time');

      const confirmation = await app.db
        .selectFrom('notificationOutbox')
        .select(['payload'])
        .where('appointmentId', '=', answer.id)
        .where('kind', '=', 'confirmation')
        .execute();
      assert.ok(confirmation.length > 0, 'a confirmation is queued');
      for (const row of confirmation)
        assert.equal(Date.parse((row.payload as { estimatedAt: string }).estimatedAt), told);
    });
  });
}
