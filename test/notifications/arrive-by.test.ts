// "Arrive by" updates: booked patients who have not checked in hear a new time when the live ETA slips more
// than 20 minutes past what they were last told; one message per slip, none during quiet hours.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import type { MessagePayload } from '../../src/modules/notifications/notifications.templates.js';
import { renderMessage } from '../../src/modules/notifications/notifications.templates.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { bdPhone, book, outbox, queueChange, seedClinic } from './fixtures.js';

const MANUAL = { NOTIFY_CRON: 'false', PUBLIC_URL: 'https://care.example' };
const MINUTE = 60_000;

for (const backend of await databaseBackends()) {
  describe(`arrive-by updates [${backend}]`, () => {
    test('a slip of more than 20 minutes tells each waiting patient once per slip; never the checked-in, never in quiet hours', async (t) => {
      // Monday 4 May 2026 in Dhaka (UTC+6): the queue starts at 09:00 local, 15 minutes per patient.
      const clock = new ManualClock('2026-05-04T02:30:00Z'); // 08:30
      const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
      const clinic = await seedClinic(app);
      const [p1, p2, p3] = await Promise.all(
        [61, 62, 63].map((i) => makeUser(app, 'patient', { phone: bdPhone(i) })),
      );
      // p3 works nights: their own quiet hours cover late morning.
      const prefs = await app.inject({
        method: 'PATCH',
        url: '/v1/me/notification-preferences',
        headers: p3.auth,
        payload: { quietStart: '11:00', quietEnd: '16:00' },
      });
      assert.equal(prefs.statusCode, 200, prefs.body);
      const a1 = await book(app, clinic, p1, new Date('2026-05-04T03:00:00Z')); // 09:00
      const a2 = await book(app, clinic, p2, new Date('2026-05-04T03:15:00Z')); // 09:15
      const a3 = await book(app, clinic, p3, new Date('2026-05-04T03:30:00Z')); // 09:30
      const queueId = a1.queueId;
      await app.notifications.drain();

      const arriveBy = async () => (await outbox(app)).filter((r) => r.kind === 'arrive_by');
      const told = async (appointmentId: string) =>
        (await arriveBy())
          .filter((r) => r.appointmentId === appointmentId && r.channel === 'sms')
          .map((r) => renderMessage(r.kind, r.language, r.payload as MessagePayload).text);

      // 08:30, p1 checks in: the queue has not started, every ETA is still the estimate.
      await queueChange(app, queueId, 'checked_in', a1.appointmentId, { status: 'checked_in' });
      assert.equal((await arriveBy()).length, 0, 'nothing slipped yet');

      // 09:40, the doctor has not started: p2 is now due 09:55 (told 09:15), p3 10:10 (told 09:30).
      clock.set('2026-05-04T03:40:00Z');
      await queueChange(app, queueId, 'confirmed', a2.appointmentId, { status: 'confirmed' });
      const rows = await arriveBy();
      assert.deepEqual(
        rows.map((r) => `${r.appointmentId}:${r.channel}`).sort(),
        [
          `${a2.appointmentId}:email`,
          `${a2.appointmentId}:sms`,
          `${a3.appointmentId}:email`,
          `${a3.appointmentId}:sms`,
        ].sort(),
        'both waiting patients, on both channels; not the checked-in p1',
      );
      assert.deepEqual(await told(a2.appointmentId), [
        `CareQueue: the queue for Dr. Karim has moved. Please arrive by 09:55 (serial ${a2.serial}).` +
          ` Live status: https://care.example/t/${a2.trackingToken}`,
      ]);
      assert.match((await told(a3.appointmentId))[0], /arrive by 10:10/);
      // They go out although the original estimates have passed: the new time has not.
      const drained = await app.notifications.drain();
      assert.equal(drained.sent, 4);
      assert.ok((await arriveBy()).every((r) => r.status === 'sent'));

      // 09:45, p1 is called: ETAs 09:45 and 10:00 are earlier than what p2 and p3 were last told.
      clock.set('2026-05-04T03:45:00Z');
      await queueChange(app, queueId, 'called', a1.appointmentId, { status: 'called' });
      assert.equal((await arriveBy()).length, 4, 'no slip past the last message');

      // 10:30, p1 is still with the doctor: a second slip (10:30 vs 09:55, 10:45 vs 10:10).
      clock.set('2026-05-04T04:30:00Z');
      await queueChange(app, queueId, 'confirmed', a3.appointmentId, { status: 'confirmed' });
      assert.equal((await arriveBy()).length, 8);
      assert.match((await told(a2.appointmentId))[1], /arrive by 10:30/);
      assert.match((await told(a3.appointmentId))[1], /arrive by 10:45/);
      // The same slip seen again (another change a minute later, or the same event twice) adds nothing.
      clock.advance(MINUTE);
      await queueChange(app, queueId, 'paused', undefined, { notice: 'Emergency' });
      await app.events.dispatchCommitted('queue.changed', { queueId, version: 1000, type: 'resumed' });
      assert.equal((await arriveBy()).length, 8, 'at most one message per slip');
      await app.notifications.drain();

      // 11:30: a third slip. p2 hears it; p3 is inside their own quiet hours and hears nothing.
      clock.set('2026-05-04T05:30:00Z');
      await queueChange(app, queueId, 'called', a1.appointmentId, { status: 'called' });
      assert.deepEqual(
        (await told(a2.appointmentId)).map((text) => /arrive by (\d\d:\d\d)/.exec(text)?.[1]),
        ['09:55', '10:30', '11:30'],
      );
      assert.equal((await told(a3.appointmentId)).length, 2, 'none in the patient’s quiet hours');

      // 21:30, the hospital's quiet hours (21:00–08:00): p2 hears nothing; p3's own hours replace the
      // hospital's, so p3 (awake at night) does hear of the slip.
      clock.set('2026-05-04T15:30:00Z');
      await queueChange(app, queueId, 'called', a1.appointmentId, { status: 'called' });
      assert.equal((await told(a2.appointmentId)).length, 3, 'none in the hospital’s quiet hours');
      assert.match((await told(a3.appointmentId))[2], /arrive by 21:45/);
    });

    test('a patient who checks in before an update goes out does not get it', async (t) => {
      const clock = new ManualClock('2026-05-04T02:00:00Z'); // 08:00 in Dhaka
      const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(64) });
      const later = await makeUser(app, 'patient', { phone: bdPhone(65) });
      const first = await book(app, clinic, patient, new Date('2026-05-04T03:00:00Z'));
      const second = await book(app, clinic, later, new Date('2026-05-04T03:15:00Z'));
      await app.notifications.drain();
      clock.set('2026-05-04T03:40:00Z'); // 09:40: the queue should have started at 09:00
      await queueChange(app, first.queueId, 'confirmed', first.appointmentId, { status: 'confirmed' });
      const pending = (await outbox(app)).filter((r) => r.kind === 'arrive_by');
      assert.equal(pending.length, 4, 'both hear 09:40 and 09:55');
      await queueChange(app, first.queueId, 'checked_in', second.appointmentId, { status: 'checked_in' });
      const drained = await app.notifications.drain();
      assert.equal(drained.sent, 2);
      assert.equal(drained.cancelled, 2);
      const settled = (await outbox(app)).filter((r) => r.kind === 'arrive_by');
      assert.deepEqual(
        settled
          .map((r) => `${r.appointmentId === first.appointmentId ? 'first' : 'second'}:${r.status}`)
          .sort(),
        ['first:sent', 'first:sent', 'second:cancelled', 'second:cancelled'],
      );
    });
  });
}
