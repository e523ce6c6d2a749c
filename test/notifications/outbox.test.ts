import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { bdPhone, book, cancel, outbox, queueChange, seedClinic } from './fixtures.js';

const MANUAL = { NOTIFY_CRON: 'false', PUBLIC_URL: 'https://care.example' };

for (const backend of await databaseBackends()) {
  describe(`notification outbox [${backend}]`, () => {
    test('a booking writes one confirmation per channel in its transaction, and sends it once', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z'); // 12:00 in Dhaka
      const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(1) });
      const booked = await book(app, clinic, patient, new Date('2026-05-06T04:00:00Z'));
      const rows = await outbox(app, booked.appointmentId);
      const confirmations = rows.filter((r) => r.kind === 'confirmation');
      assert.deepEqual(confirmations.map((r) => r.channel).sort(), ['email', 'sms']);
      assert.equal(confirmations.find((r) => r.channel === 'sms')?.recipient, bdPhone(1));
      assert.match(
        (confirmations[0].payload as { trackingUrl: string }).trackingUrl,
        new RegExp(`^https://care.example/t/${booked.trackingToken}$`),
      );
      // Emitting the same event again enqueues nothing new (dedupe keys).
      await app.events.transaction(app.db, (_trx, emit) =>
        emit('appointment.booked', {
          appointmentId: booked.appointmentId,
          queueId: booked.queueId,
          actorId: null,
        }),
      );
      assert.equal(
        (await outbox(app, booked.appointmentId)).filter((r) => r.kind === 'confirmation').length,
        2,
      );
      const first = await app.notifications.drain();
      assert.equal(first.sent, 2);
      const second = await app.notifications.drain();
      assert.equal(second.status, 'idle');
      const sent = (await outbox(app, booked.appointmentId)).filter((r) => r.kind === 'confirmation');
      assert.ok(sent.every((r) => r.status === 'sent' && r.attempts === 1 && r.providerId));
    });

    test('a rolled-back change leaves no message behind', async (t) => {
      const { app } = await buildTestApp(t, { backend, env: MANUAL });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(2) });
      const booked = await book(app, clinic, patient, new Date(Date.now() + 86400_000));
      const before = (await outbox(app)).length;
      await assert.rejects(
        app.events.transaction(app.db, async (_trx, emit) => {
          await emit('appointment.cancelled', {
            appointmentId: booked.appointmentId,
            queueId: booked.queueId,
            actorId: null,
            reason: 'x',
          });
          throw new Error('rollback');
        }),
        /rollback/,
      );
      const after = await outbox(app);
      assert.equal(after.length, before);
      assert.ok(
        after.every((r) => r.status === 'pending'),
        'nothing was cancelled either',
      );
    });

    test('cancelling cancels pending reminders and tells the patient and the doctor', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(3) });
      const booked = await book(app, clinic, patient, new Date('2026-05-05T04:00:00Z'));
      await app.notifications.drain();
      // The 24 h reminder's time had passed at booking; the 1 h one (03:00Z) is queued by this scan, not yet due.
      clock.set('2026-05-05T02:57:00Z');
      const scan = await app.notifications.scanReminders();
      assert.equal(scan.status, 'scanned');
      const pending = (await outbox(app, booked.appointmentId)).filter((r) => r.kind === 'reminder');
      assert.ok(pending.length >= 2, 'the 1 h reminder is queued on both channels');
      assert.ok(
        pending.filter((r) => r.dedupeKey.startsWith('reminder:1h')).every((r) => r.status === 'pending'),
      );
      await cancel(app, booked);
      const after = await outbox(app, booked.appointmentId);
      const reminders1h = after.filter((r) => r.dedupeKey.startsWith('reminder:1h'));
      assert.ok(reminders1h.length > 0 && reminders1h.every((r) => r.status === 'cancelled'));
      assert.equal(after.filter((r) => r.kind === 'cancellation').length, 2);
      const doctorNotice = after.filter((r) => r.kind === 'doctor_cancellation');
      assert.deepEqual(
        doctorNotice.map((r) => r.recipient),
        [clinic.doctor.email],
      );
      clock.set('2026-05-05T03:01:00Z');
      const drained = await app.notifications.drain();
      assert.equal(drained.sent, 3, 'two cancellation messages and the doctor notice; no reminder');
    });

    test('a patient without a phone gets e-mail only; an invalid phone never becomes an SMS', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
      const clinic = await seedClinic(app);
      const noPhone = await makeUser(app, 'patient');
      const a = await book(app, clinic, noPhone, new Date('2026-05-06T04:00:00Z'));
      assert.deepEqual(
        (await outbox(app, a.appointmentId)).map((r) => r.channel),
        ['email'],
      );
      const walkIn = await makeUser(app, 'patient');
      await app.db.updateTable('users').set({ phone: '+880123' }).where('id', '=', walkIn.id).execute();
      const b = await book(app, clinic, walkIn, new Date('2026-05-06T04:30:00Z'));
      assert.deepEqual(
        (await outbox(app, b.appointmentId)).map((r) => r.channel),
        ['email'],
      );
    });

    test('your turn, paused notices to everyone waiting, feedback and an invoice after a paid visit', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: MANUAL });
      const clinic = await seedClinic(app);
      const p1 = await makeUser(app, 'patient', { phone: bdPhone(11) });
      const p2 = await makeUser(app, 'patient', { phone: bdPhone(12) });
      const a1 = await book(app, clinic, p1, new Date('2026-05-04T06:30:00Z'), { fee: 500 });
      const a2 = await book(app, clinic, p2, new Date('2026-05-04T06:45:00Z'));
      await app.notifications.drain();
      await queueChange(app, a1.queueId, 'called', a1.appointmentId, { status: 'called' });
      const yourTurn = (await outbox(app, a1.appointmentId)).filter((r) => r.kind === 'your_turn');
      assert.equal(yourTurn.length, 2);
      assert.ok(yourTurn.every((r) => r.urgent));
      await queueChange(app, a1.queueId, 'paused', undefined, { notice: 'Emergency surgery' });
      const paused = (await outbox(app)).filter((r) => r.kind === 'doctor_paused');
      assert.deepEqual(
        [...new Set(paused.map((r) => r.appointmentId))],
        [a2.appointmentId],
        'only those still waiting',
      );
      await queueChange(app, a1.queueId, 'completed', a1.appointmentId, { status: 'completed' });
      const kinds = (await outbox(app, a1.appointmentId)).map((r) => r.kind);
      assert.ok(kinds.includes('feedback_request'));
      assert.ok(kinds.includes('invoice'));
      await queueChange(app, a1.queueId, 'completed', a2.appointmentId, { status: 'completed' });
      assert.ok(
        !(await outbox(app, a2.appointmentId)).some((r) => r.kind === 'invoice'),
        'no fee, no invoice',
      );
      // a2 became next when a1 was called: told once (per channel), however many changes followed.
      assert.equal(
        (await outbox(app, a2.appointmentId)).filter((r) => r.kind === 'turn_near').length,
        2,
        'once per channel',
      );
    });
  });
}
