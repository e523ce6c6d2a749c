// Waitlist offers through the real booking flow: a full session, a waitlist, a cancellation that offers the
// place → one urgent message per offer with the link and the expiry, never sent once the offer has lapsed.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import type { EventMap } from '../../src/events.js';
import { makeDoctor, makeHospital, makeSession } from '../appointments/fixtures.js';
import { buildTestApp } from '../helpers/app.js';
import { FakeTwilio, twilioEnv } from '../helpers/fake-twilio.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { bdPhone, outbox } from './fixtures.js';

const MONDAY_2230 = '2025-06-02T16:30:00Z'; // 22:30 in Dhaka: inside the default quiet hours (21:00–08:00)
const TUESDAY = '2025-06-03';
const MINUTE = 60_000;

let fake: FakeTwilio;
before(async () => {
  fake = await FakeTwilio.start();
});
after(async () => {
  await fake.stop();
});

for (const backend of await databaseBackends()) {
  describe(`waitlist offers [${backend}]`, () => {
    test('a cancellation that offers the place sends the link and expiry at once, once, even at night', async (t) => {
      fake.reset();
      const clock = new ManualClock(MONDAY_2230);
      const env = { ...twilioEnv(fake), NOTIFY_CRON: 'false', PUBLIC_URL: 'https://care.example' };
      const { app } = await buildTestApp(t, { backend, clock, env });
      const hospitalId = await makeHospital(app, { name: 'Green Clinic' });
      const doctor = await makeDoctor(app, { name: 'Dr. Hasan' });
      const sessionId = await makeSession(app, {
        doctorId: doctor.doctorId,
        hospitalId,
        weekday: 2,
        capacity: 3,
        room: '101',
      });
      const [a, b, c, d, e] = await Promise.all(
        [71, 72, 73, 74, 75].map((i) => makeUser(app, 'patient', { phone: bdPhone(i) })),
      );
      const offers: EventMap['waitlist.offered'][] = [];
      app.events.afterCommit('waitlist.offered', (o) => {
        offers.push(o);
      });
      const post = (auth: { authorization: string }, url: string, payload: Record<string, unknown>) =>
        app.inject({ method: 'POST', url, headers: auth, payload });

      const booked = [];
      for (const p of [a, b, c]) {
        const res = await post(p.auth, '/v1/appointments', { sessionId, date: TUESDAY });
        assert.equal(res.statusCode, 201, res.body);
        booked.push(res.json());
      }
      const full = await post(d.auth, '/v1/appointments', { sessionId, date: TUESDAY });
      assert.equal(full.json().code, 'SESSION_FULL');
      const queueId = full.json().details.queueId;
      const dEntry = await post(d.auth, `/v1/queues/${queueId}/waitlist`, {});
      assert.equal(dEntry.statusCode, 201, dEntry.body);
      const eEntry = await post(e.auth, `/v1/queues/${queueId}/waitlist`, {});
      assert.equal(eEntry.statusCode, 201, eEntry.body);
      // d has texted STOP: that stops reminders, not the answer to their own waitlist request.
      await app.notifications.webhooks.inboundSms(bdPhone(74), 'STOP');
      const offerRows = async () => (await outbox(app)).filter((r) => r.kind === 'waitlist_offer');
      assert.equal((await offerRows()).length, 0, 'joining alone sends nothing');

      const cancelled = await post(a.auth, `/v1/appointments/${booked[0].id}/cancel`, { reason: 'better' });
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      assert.equal(offers.length, 1);
      const offer = offers[0];
      assert.equal(offer.entryId, dEntry.json().id);
      const rows = await offerRows();
      assert.deepEqual(rows.map((r) => [r.channel, r.recipient]).sort(), [
        ['email', d.email],
        ['sms', bdPhone(74)],
      ]);
      for (const row of rows) {
        assert.equal(row.userId, d.id);
        assert.equal(row.hospitalId, hospitalId);
        assert.equal(row.appointmentId, null);
        assert.equal(row.urgent, true);
        assert.equal(row.sendAfter.getTime(), clock.now().getTime(), 'not deferred by quiet hours');
        assert.equal(
          row.dedupeKey,
          `waitlist_offer:${offer.entryId}:${Date.parse(offer.expiresAt)}:${row.channel}`,
        );
      }
      const cancellation = (await outbox(app, booked[0].id)).find((r) => r.kind === 'cancellation');
      assert.equal(
        cancellation?.sendAfter.toISOString(),
        '2025-06-03T02:00:00.000Z',
        'the non-urgent cancellation message waits for 08:00',
      );
      // The same offer announced again (a retried handler) adds nothing.
      await app.events.transaction(app.db, (_trx, emit) => emit('waitlist.offered', offer));
      assert.equal((await offerRows()).length, 2);

      await app.notifications.drain();
      const texts = fake.messages.filter((m) => m.to === bdPhone(74)).map((m) => m.body);
      assert.deepEqual(texts, [
        'CareQueue: a place opened with Dr. Hasan at Green Clinic, room 101, Tue 3 Jun, 09:00. It is held for ' +
          `you until Mon 2 Jun, 23:00. Book it: https://care.example/book?offer=${offer.entryId}`,
      ]);
      const mine = await app.inject({ url: '/v1/me/notifications?kind=waitlist_offer', headers: d.auth });
      assert.equal(mine.statusCode, 200, mine.body);
      assert.deepEqual(
        mine
          .json()
          .items.map((n: { channel: string; status: string }) => `${n.channel}:${n.status}`)
          .sort(),
        ['email:sent', 'sms:sent'],
      );

      // d lets the offer lapse; the sweep offers the place to e. e's SMS fails once and then waits for a
      // retry past the offer's expiry: it is cancelled, never sent late.
      clock.advance(31 * MINUTE);
      assert.deepEqual(await app.appointments.waitlist.sweepLapsedOffers(), { queues: 1, offered: 1 });
      assert.equal(offers.at(-1)?.entryId, eEntry.json().id);
      fake.failNext = 1;
      const firstTry = await app.notifications.drain();
      assert.equal(firstTry.retried, 1);
      clock.advance(31 * MINUTE);
      const late = await app.notifications.drain();
      assert.equal(late.cancelled, 1);
      const eSms = (await offerRows()).find((r) => r.recipient === bdPhone(75));
      assert.equal(eSms?.status, 'cancelled');
      assert.equal(eSms?.lastError, 'expired');
      assert.equal(fake.messages.filter((m) => m.to === bdPhone(75)).length, 0);
    });
  });
}
