// Reminder timing driven by a manual clock: DST changes, downtime catch-up, quiet hours and preferences.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { bdPhone, book, outbox, queueChange, seedClinic } from './fixtures.js';

const MANUAL = { NOTIFY_CRON: 'false' };

async function tick(app: FastifyInstance, clock: ManualClock, at: string) {
  clock.set(at);
  await app.notifications.scanReminders();
  await app.notifications.drain();
}

async function sentReminders(app: FastifyInstance, appointmentId: string) {
  return (await outbox(app, appointmentId)).filter((r) => r.kind === 'reminder' && r.status === 'sent');
}

const berlin = (instant: Date | null | undefined) =>
  instant ? DateTime.fromJSDate(instant, { zone: 'Europe/Berlin' }).toFormat('ccc HH:mm') : null;

for (const backend of await databaseBackends()) {
  describe(`reminders [${backend}]`, () => {
    for (const change of [
      { name: 'spring forward', visit: '2026-03-29T10:00', booked: '2026-03-27T12:00:00Z' },
      { name: 'fall back', visit: '2026-10-25T10:00', booked: '2026-10-23T12:00:00Z' },
    ]) {
      test(`reminders keep local time across the ${change.name} change (Europe/Berlin)`, async (t) => {
        const clock = new ManualClock(change.booked);
        const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
        const clinic = await seedClinic(app, { timezone: 'Europe/Berlin' });
        const patient = await makeUser(app, 'patient', { phone: bdPhone(70) });
        const visit = DateTime.fromISO(change.visit, { zone: 'Europe/Berlin' });
        const booked = await book(app, clinic, patient, visit.toJSDate());
        await tick(app, clock, change.booked);
        const dayBefore = visit.minus({ days: 1 }).toUTC();
        const exactly24h = visit.toUTC().minus({ hours: 24 });
        assert.notEqual(dayBefore.toMillis(), exactly24h.toMillis(), 'the change lies between the two');
        // Tick at both candidate instants (in time order): only the calendar-day one fires, on the minute.
        const instants = [
          exactly24h.minus({ minutes: 1 }),
          exactly24h,
          dayBefore.minus({ minutes: 1 }),
          dayBefore,
        ];
        instants.sort((x, y) => x.toMillis() - y.toMillis());
        for (const at of instants) {
          await tick(app, clock, at.toISO() as string);
          const expected = at >= dayBefore ? 2 : 0;
          assert.equal((await sentReminders(app, booked.appointmentId)).length, expected, `at ${at.toISO()}`);
        }
        let sent = await sentReminders(app, booked.appointmentId);
        assert.ok(sent.every((r) => berlin(r.sentAt) === 'Sat 10:00'));
        const hourBefore = visit.toUTC().minus({ hours: 1 });
        await tick(app, clock, hourBefore.minus({ minutes: 1 }).toISO() as string);
        assert.equal((await sentReminders(app, booked.appointmentId)).length, 2);
        await tick(app, clock, hourBefore.toISO() as string);
        await tick(app, clock, hourBefore.plus({ minutes: 1 }).toISO() as string);
        sent = await sentReminders(app, booked.appointmentId);
        assert.equal(sent.length, 4, 'each reminder once per channel, none duplicated by the change');
        assert.deepEqual([...new Set(sent.map((r) => berlin(r.sentAt)))].sort(), ['Sat 10:00', 'Sun 09:00']);
        const sms = sent.find((r) => r.channel === 'sms' && r.dedupeKey.startsWith('reminder:1h'));
        assert.equal(
          (sms?.payload as { estimatedAt?: string } | undefined)?.estimatedAt,
          visit.toUTC().toISO({ suppressMilliseconds: false }),
        );
      });
    }

    test('after downtime the scanner catches up once, with only the latest reminder due', async (t) => {
      const clock = new ManualClock('2026-05-04T00:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(71) });
      const late = await makeUser(app, 'patient', { phone: bdPhone(72) });
      await tick(app, clock, '2026-05-04T00:00:00Z');
      const a = await book(app, clinic, patient, new Date('2026-05-05T06:00:00Z'));
      const b = await book(app, clinic, late, new Date('2026-05-06T03:00:00Z'));
      // Down from 00:00 until 05:40 the next day: a's 24 h (06:00 yesterday) and 1 h (05:00) both passed.
      await tick(app, clock, '2026-05-05T05:40:00Z');
      const aSent = await sentReminders(app, a.appointmentId);
      assert.deepEqual(
        [...new Set(aSent.map((r) => r.dedupeKey.split(':')[1]))],
        ['1h'],
        'one catch-up reminder, not both',
      );
      assert.equal(aSent.length, 2);
      // b's 24 h reminder (03:00 today) was missed too and its visit is tomorrow: it goes out late, once.
      assert.equal((await sentReminders(app, b.appointmentId)).length, 2);
      await tick(app, clock, '2026-05-05T05:41:00Z');
      await tick(app, clock, '2026-05-05T05:50:00Z');
      assert.equal((await sentReminders(app, a.appointmentId)).length, 2);
      assert.equal((await outbox(app, a.appointmentId)).filter((r) => r.kind === 'reminder').length, 2);
    });

    test('quiet hours defer non-urgent messages to the morning; your-turn goes at once', async (t) => {
      // 22:30 in Dhaka (UTC+6).
      const clock = new ManualClock('2026-05-04T16:30:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(80) });
      const booked = await book(app, clinic, patient, new Date('2026-05-06T04:00:00Z'));
      const confirmation = (await outbox(app, booked.appointmentId)).filter((r) => r.kind === 'confirmation');
      assert.ok(
        confirmation.every((r) => r.sendAfter.toISOString() === '2026-05-05T02:00:00.000Z'),
        '08:00 local',
      );
      const night = await app.notifications.drain();
      assert.equal(night.status, 'idle');
      await queueChange(app, booked.queueId, 'called', booked.appointmentId, { status: 'called' });
      const urgent = await app.notifications.drain();
      assert.equal(urgent.sent, 2, 'your-turn on both channels, in the night');
      clock.set('2026-05-05T02:00:00Z');
      assert.equal((await app.notifications.drain()).sent, 2);

      // A row that became due inside quiet hours (a retry) is pushed to the morning, not sent.
      await app.db
        .updateTable('notificationOutbox')
        .set({ status: 'pending', sendAfter: new Date('2026-05-05T15:30:00Z'), sentAt: null })
        .where('appointmentId', '=', booked.appointmentId)
        .where('kind', '=', 'confirmation')
        .execute();
      clock.set('2026-05-05T15:30:00Z');
      const deferred = await app.notifications.drain();
      assert.equal(deferred.deferred, 2);
      const rows = (await outbox(app, booked.appointmentId)).filter((r) => r.kind === 'confirmation');
      assert.ok(
        rows.every((r) => r.status === 'pending' && r.sendAfter.toISOString() === '2026-05-06T02:00:00.000Z'),
      );
    });

    test('preferences: offsets, channels, quiet hours and language, validated', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(90) });
      const url = '/v1/me/notification-preferences';
      const initial = await app.inject({ url, headers: patient.auth });
      assert.deepEqual(initial.json(), {
        channels: ['sms', 'email'],
        reminderOffsets: [1440, 60],
        quietStart: null,
        quietEnd: null,
        language: 'en',
      });
      for (const bad of [
        { reminderOffsets: [0] },
        { channels: [] },
        { language: 'fr' },
        { quietStart: '22:00' },
        { quietStart: '25:00', quietEnd: '07:00' },
        {},
      ]) {
        const res = await app.inject({ method: 'PATCH', url, headers: patient.auth, payload: bad });
        assert.equal(res.statusCode, 400, JSON.stringify(bad));
        assert.equal(res.json().code, 'VALIDATION_FAILED');
      }
      assert.deepEqual(
        (await app.inject({ url, headers: patient.auth })).json(),
        initial.json(),
        'unchanged',
      );
      const patched = await app.inject({
        method: 'PATCH',
        url,
        headers: patient.auth,
        payload: { reminderOffsets: [120], channels: ['sms'], language: 'bn' },
      });
      assert.equal(patched.statusCode, 200);
      assert.deepEqual(patched.json().reminderOffsets, [120]);
      const booked = await book(app, clinic, patient, new Date('2026-05-05T06:00:00Z'));
      await tick(app, clock, '2026-05-05T03:58:00Z');
      await tick(app, clock, '2026-05-05T04:00:00Z');
      const rows = await outbox(app, booked.appointmentId);
      const reminders = rows.filter((r) => r.kind === 'reminder');
      assert.deepEqual(
        reminders.map((r) => [r.dedupeKey.split(':')[1], r.channel, r.language, r.status]),
        [['2h', 'sms', 'bn', 'sent']],
      );
      assert.ok(rows.every((r) => r.channel === 'sms'));
      const unauth = await app.inject({ url });
      assert.equal(unauth.statusCode, 401);
    });
  });
}
