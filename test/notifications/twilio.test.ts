// SMS through the real twilio SDK against the fake Twilio server: delivery, outages, retries, webhooks, replies.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp } from '../helpers/app.js';
import { FakeTwilio, twilioEnv, twilioSignature } from '../helpers/fake-twilio.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { bdPhone, book, outbox, seedClinic } from './fixtures.js';

const PUBLIC_URL = 'https://care.example';

let fake: FakeTwilio;
before(async () => {
  fake = await FakeTwilio.start();
});
after(async () => {
  await fake.stop();
});

function env(extra: Record<string, string> = {}) {
  return { ...twilioEnv(fake), NOTIFY_CRON: 'false', PUBLIC_URL, NOTIFY_EMAIL: 'log', ...extra };
}

function form(params: Record<string, string>) {
  return new URLSearchParams(params).toString();
}

for (const backend of await databaseBackends()) {
  describe(`twilio SMS [${backend}]`, () => {
    test('the confirmation goes through the SDK; a signed delivery report marks it delivered', async (t) => {
      fake.reset();
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: env() });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const local = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(21) });
      const booked = await book(app, clinic, patient, new Date('2026-05-06T04:00:00Z'));
      await app.notifications.drain();
      assert.equal(fake.messages.length, 1);
      const [message] = fake.messages;
      assert.equal(message.to, bdPhone(21));
      assert.match(message.body, new RegExp(`Serial ${booked.serial}`));
      assert.match(message.body, /Wed 6 May, 10:00/, 'the estimated time in the hospital zone (Asia/Dhaka)');
      assert.equal(message.statusCallback, `${PUBLIC_URL}/v1/webhooks/twilio/status`);
      const row = (await outbox(app, booked.appointmentId)).find((r) => r.channel === 'sms');
      assert.equal(row?.providerId, message.sid);

      const delivered = await fake.postStatus(message, 'delivered', local);
      assert.equal(delivered.status, 200);
      const after = (await outbox(app, booked.appointmentId)).find((r) => r.channel === 'sms');
      assert.equal(after?.status, 'delivered');
      assert.ok(after?.deliveredAt);

      const unknown = await fake.postStatus(
        { ...message, sid: 'SM0000000000000000000000000000dead' },
        'failed',
        local,
      );
      assert.equal(unknown.status, 200, 'unknown message ids are acknowledged so Twilio stops retrying');
      assert.equal(JSON.parse(unknown.body).known, false);
    });

    test('status callbacks with a bad or missing signature are refused and change nothing', async (t) => {
      fake.reset();
      // Noon in Dhaka: on the real clock the confirmation would be held back by quiet hours at night.
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: env() });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(22) });
      const booked = await book(app, clinic, patient, new Date('2026-05-06T04:00:00Z'));
      await app.notifications.drain();
      const sid = fake.messages[0].sid;
      const url = '/v1/webhooks/twilio/status';
      const params = { MessageSid: sid, MessageStatus: 'undelivered', ErrorCode: '30003' };
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      const missing = await app.inject({ method: 'POST', url, headers, payload: form(params) });
      assert.equal(missing.statusCode, 403);
      assert.equal(missing.json().code, 'FORBIDDEN');
      const forged = await app.inject({
        method: 'POST',
        url,
        headers: {
          ...headers,
          'x-twilio-signature': twilioSignature(`${PUBLIC_URL}${url}`, params, 'wrong-token'),
        },
        payload: form(params),
      });
      assert.equal(forged.statusCode, 403);
      const wrongUrl = await app.inject({
        method: 'POST',
        url,
        headers: { ...headers, 'x-twilio-signature': twilioSignature(`http://elsewhere${url}`, params) },
        payload: form(params),
      });
      assert.equal(wrongUrl.statusCode, 403, 'signed for another URL');
      assert.equal(
        (await outbox(app, booked.appointmentId)).find((r) => r.channel === 'sms')?.status,
        'sent',
      );

      const malformed = { MessageSid: sid };
      const bad = await app.inject({
        method: 'POST',
        url,
        headers: { ...headers, 'x-twilio-signature': twilioSignature(`${PUBLIC_URL}${url}`, malformed) },
        payload: form(malformed),
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'VALIDATION_FAILED');

      const good = await app.inject({
        method: 'POST',
        url,
        headers: { ...headers, 'x-twilio-signature': twilioSignature(`${PUBLIC_URL}${url}`, params) },
        payload: form(params),
      });
      assert.equal(good.statusCode, 200);
      const row = (await outbox(app, booked.appointmentId)).find((r) => r.channel === 'sms');
      assert.equal(row?.status, 'failed');
      assert.match(row?.lastError ?? '', /undelivered \(30003\)/);
    });

    test('a 2-minute provider outage: messages wait, retry with backoff, and go out once after recovery', async (t) => {
      fake.reset();
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: env() });
      const clinic = await seedClinic(app);
      const booked = [];
      for (let i = 0; i < 12; i++) {
        const patient = await makeUser(app, 'patient', { phone: bdPhone(100 + i) });
        booked.push(
          await book(app, clinic, patient, new Date(Date.parse('2026-05-06T04:00:00Z') + i * 900_000)),
        );
      }
      fake.mode = 500;
      const outageEnds = clock.now().getTime() + 120_000;
      while (clock.now().getTime() < outageEnds) {
        await app.notifications.drain();
        clock.advance(5_000);
      }
      assert.ok(fake.requests >= 12, 'the provider was tried during the outage');
      assert.equal(fake.messages.length, 0);
      const waiting = (await outbox(app)).filter((r) => r.channel === 'sms');
      assert.ok(
        waiting.every((r) => r.status === 'pending' && r.attempts >= 2 && /HTTP 500/.test(r.lastError ?? '')),
      );
      fake.mode = 'none';
      for (let i = 0; i < 200 && (await outbox(app)).some((r) => r.status === 'pending'); i++) {
        await app.notifications.drain();
        clock.advance(10_000);
      }
      const rows = (await outbox(app)).filter((r) => r.channel === 'sms');
      assert.ok(rows.every((r) => r.status === 'sent'));
      assert.equal(fake.messages.length, 12);
      assert.equal(new Set(fake.messages.map((m) => m.to)).size, 12, 'one message per recipient');
    });

    test('429s and hanging requests are retried; an invalid number never reaches the provider', async (t) => {
      fake.reset();
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: env({ NOTIFY_TIMEOUT_MS: '300' }) });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(30) });
      await book(app, clinic, patient, new Date('2026-05-06T04:00:00Z'));
      fake.failNext = 1;
      fake.failNextWith = 429;
      await app.notifications.drain();
      let [row] = (await outbox(app)).filter((r) => r.channel === 'sms');
      assert.equal(row.status, 'pending');
      assert.match(row.lastError ?? '', /429/);
      assert.ok(row.sendAfter.getTime() >= clock.now().getTime() + 5_000, 'backoff before the next try');
      fake.failNext = 1;
      fake.failNextWith = 'timeout';
      clock.set(row.sendAfter);
      await app.notifications.drain();
      [row] = (await outbox(app)).filter((r) => r.channel === 'sms');
      assert.equal(row.status, 'pending');
      assert.equal(row.attempts, 2);
      clock.set(row.sendAfter);
      await app.notifications.drain();
      [row] = (await outbox(app)).filter((r) => r.channel === 'sms');
      assert.equal(row.status, 'sent');
      assert.equal(fake.messages.length, 1);

      const requests = fake.requests;
      await app.db
        .insertInto('notificationOutbox')
        .values({
          dedupeKey: 'notice:bad-number',
          kind: 'notice',
          channel: 'sms',
          recipient: '+880123',
          payload: JSON.stringify({ tz: 'Asia/Dhaka', text: 'hello' }),
          sendAfter: clock.now(),
          urgent: true,
        })
        .execute();
      await app.notifications.drain();
      const bad = await app.db
        .selectFrom('notificationOutbox')
        .selectAll()
        .where('dedupeKey', '=', 'notice:bad-number')
        .executeTakeFirstOrThrow();
      assert.equal(bad.status, 'failed');
      assert.equal(bad.lastError, 'invalid phone number');
      assert.equal(fake.requests, requests, 'the provider never saw it');
    });

    test('after the last attempt a message is failed, with its reason, visible to staff of its hospital', async (t) => {
      fake.reset();
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: env() });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient', { phone: bdPhone(40) });
      const booked = await book(app, clinic, patient, new Date('2026-05-06T04:00:00Z'));
      fake.mode = 500;
      for (
        let i = 0;
        i < 100 && (await outbox(app)).some((r) => r.channel === 'sms' && r.status === 'pending');
        i++
      ) {
        await app.notifications.drain();
        clock.advance(60_000);
      }
      const staff = await makeUser(app, 'staff', { hospitalId: clinic.hospitalId });
      const res = await app.inject({
        url: `/v1/notifications?status=failed&appointmentId=${booked.appointmentId}`,
        headers: staff.auth,
      });
      assert.equal(res.statusCode, 200);
      const [item] = res.json().items;
      assert.equal(res.json().items.length, 1);
      assert.equal(item.channel, 'sms');
      assert.equal(item.attempts, 8);
      assert.match(item.lastError, /HTTP 500/);
      assert.equal(item.to, '+8801711****40');
      const otherClinic = await seedClinic(app);
      const otherStaff = await makeUser(app, 'staff', { hospitalId: otherClinic.hospitalId });
      const hidden = await app.inject({ url: '/v1/notifications?status=failed', headers: otherStaff.auth });
      assert.equal(hidden.json().items.length, 0);
      const mine = await app.inject({ url: '/v1/me/notifications', headers: patient.auth });
      assert.equal(mine.statusCode, 200);
      assert.equal(mine.json().items.length, 2);
      const forbidden = await app.inject({ url: '/v1/notifications', headers: patient.auth });
      assert.equal(forbidden.statusCode, 403);
      const metrics = await app.inject({ url: '/metrics' });
      assert.match(metrics.body, /carequeue_outbox_failed_total\{channel="sms"\} 1/);
      assert.match(metrics.body, /carequeue_outbox_queued 0/);
    });

    test('STOP stops reminders (not booking answers), START brings them back, HELP and others get help', async (t) => {
      fake.reset();
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: env() });
      const clinic = await seedClinic(app);
      const phone = bdPhone(50);
      const patient = await makeUser(app, 'patient', { phone });
      const inbound = (body: string, signed = true) => {
        const params = { From: phone, Body: body, MessageSid: 'SMinbound0001' };
        const url = '/v1/webhooks/twilio/inbound';
        return app.inject({
          method: 'POST',
          url,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...(signed ? { 'x-twilio-signature': twilioSignature(`${PUBLIC_URL}${url}`, params) } : {}),
          },
          payload: form(params),
        });
      };
      const unsigned = await inbound('STOP', false);
      assert.equal(unsigned.statusCode, 403);
      assert.equal((await app.db.selectFrom('smsOptOuts').selectAll().execute()).length, 0);
      const stop = await inbound('stop');
      assert.equal(stop.statusCode, 200);
      assert.match(stop.headers['content-type'] as string, /text\/xml/);
      assert.match(stop.body, /<Response><Message>CareQueue: you will get no more reminders/);

      const first = await book(app, clinic, patient, new Date('2026-05-05T04:00:00Z'));
      clock.set('2026-05-05T02:58:00Z');
      await app.notifications.scanReminders();
      clock.set('2026-05-05T03:00:00Z');
      await app.notifications.drain();
      const rows = await outbox(app, first.appointmentId);
      const reminder = rows.find((r) => r.kind === 'reminder' && r.channel === 'sms');
      assert.equal(reminder?.status, 'cancelled');
      assert.match(reminder?.lastError ?? '', /opted out/);
      assert.equal(rows.find((r) => r.kind === 'confirmation' && r.channel === 'sms')?.status, 'sent');
      assert.equal(rows.find((r) => r.kind === 'reminder' && r.channel === 'email')?.status, 'sent');
      assert.ok(!fake.messages.some((m) => m.body.includes('reminder')), 'no SMS reminder reached Twilio');

      const start = await inbound('START');
      assert.match(start.body, /reminders are back on/);
      const second = await book(app, clinic, patient, new Date('2026-05-06T04:00:00Z'));
      clock.set('2026-05-06T02:58:00Z');
      await app.notifications.scanReminders();
      clock.set('2026-05-06T03:00:00Z');
      await app.notifications.drain();
      const back = (await outbox(app, second.appointmentId)).find(
        (r) => r.kind === 'reminder' && r.channel === 'sms',
      );
      assert.equal(back?.status, 'sent');
      assert.ok(fake.messages.some((m) => m.to === phone && m.body.startsWith('CareQueue reminder')));

      const help = await inbound('what?');
      assert.match(help.body, /reply C to confirm/);
    });

    test('C confirms and X cancels the next appointment of the number that wrote', async (t) => {
      fake.reset();
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: env() });
      const clinic = await seedClinic(app);
      const phone = bdPhone(60);
      const patient = await makeUser(app, 'patient', { phone });
      const soon = await book(app, clinic, patient, new Date('2026-05-05T04:00:00Z'));
      const inbound = (body: string) => {
        const params = { From: phone, Body: body };
        const url = '/v1/webhooks/twilio/inbound';
        return app.inject({
          method: 'POST',
          url,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': twilioSignature(`${PUBLIC_URL}${url}`, params),
          },
          payload: form(params),
        });
      };
      const confirmed = await inbound(' c ');
      assert.equal(confirmed.statusCode, 200);
      assert.match(confirmed.body, new RegExp(`confirmed, serial ${soon.serial}`));
      const status = async (id: string) =>
        (
          await app.db
            .selectFrom('appointments')
            .select('status')
            .where('id', '=', id)
            .executeTakeFirstOrThrow()
        ).status;
      assert.equal(await status(soon.appointmentId), 'confirmed');
      const cancelled = await inbound('X');
      assert.match(cancelled.body, /is cancelled/);
      assert.equal(await status(soon.appointmentId), 'cancelled');
      assert.ok((await outbox(app, soon.appointmentId)).some((r) => r.kind === 'cancellation'));
      const none = await inbound('X');
      assert.match(none.body, /no upcoming appointment/);
    });
  });
}
