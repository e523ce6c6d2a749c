// The log transport prints what it sends, so a day's whole log is read here for secrets and personal data:
// a small clinic day through the API (register, book, track, cancel, walk-in, check-in, call, complete), the
// outbox drained through the log transports, and the captured log searched for every token, phone, e-mail
// and patient name the day used.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { redactForLog } from '../../src/modules/notifications/notifications.transports.js';
import { makeHospital, makeSession } from '../appointments/fixtures.js';
import { buildTestApp } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

const quick = (await databaseBackends())[0];
const DATE = '2026-12-07'; // a Monday
const BEFORE_SESSION = '2026-12-07T02:00:00Z'; // 08:00 in Dhaka
const IN_SESSION = '2026-12-07T03:05:00Z'; // 09:05 in Dhaka

describe('redactForLog', () => {
  test('links keep their origin and plain words; tokens, ids, queries, e-mails, phones and codes go', () => {
    const token = 'AbCdEfGhIjKlMnOpQrStUv';
    const out = redactForLog(
      `Live status: https://q.example/t/${token}. Reset: https://q.example/reset?token=${token} ` +
        `or /track/${token}; call +880 1711-123456 or 01711123456, mail rahim.k@example.test; code 482913. ` +
        'Serial 14, about Mon 7 Dec, 09:30, on 2026-12-07, room 12.',
    );
    assert.equal(
      out,
      'Live status: https://q.example/t/[redacted]. Reset: https://q.example/reset?token=[redacted] ' +
        'or /track/[redacted]; call [number] or [number], mail [email]; code [number]. ' +
        'Serial 14, about Mon 7 Dec, 09:30, on 2026-12-07, room 12.',
    );
  });
});

describe('a clinic day’s log', () => {
  test('holds no tracking token, phone number, e-mail address or patient name', async (t) => {
    const { logger, lines } = captureLogs();
    const clock = new ManualClock(BEFORE_SESSION);
    const { app } = await buildTestApp(t, {
      backend: quick,
      clock,
      logger,
      env: { NOTIFY_CRON: 'false', PUBLIC_URL: 'https://queue.clinic.example' },
    });

    const secrets: string[] = [];
    const hospitalId = await makeHospital(app);
    const doctor = await makeUser(app, 'doctor', { name: 'Dr. Karim', phone: '+8801811000001' });
    const staff = await makeUser(app, 'staff', { hospitalId });
    secrets.push(doctor.email, staff.email, '+8801811000001', '01811000001');
    const sessionId = await makeSession(app, {
      doctorId: doctor.doctorId as string,
      hospitalId,
      weekday: 1,
      start: '09:00',
      end: '12:00',
    });

    const people = [
      { name: 'Nusrat Jahan', phone: '+8801711000101', national: '01711000101' },
      { name: 'Tanvir Hossain', phone: '01711000202', national: '01711000202' },
      { name: 'Farhana Akter', phone: '+8801711000303', national: '01711000303' },
    ];
    const booked: { id: string; queueId: string; trackingToken: string }[] = [];
    for (const person of people) {
      const email = uniqueEmail('patient');
      secrets.push(person.name, email, person.phone, person.national, person.national.slice(1));
      const reg = await app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { email, password: PASSWORD, name: person.name, phone: person.phone },
      });
      assert.equal(reg.statusCode, 201, reg.body);
      const auth = { authorization: `Bearer ${reg.json().accessToken}` };
      const book = await app.inject({
        method: 'POST',
        url: '/v1/appointments',
        headers: auth,
        payload: { sessionId, date: DATE },
      });
      assert.equal(book.statusCode, 201, book.body);
      booked.push(book.json());
      secrets.push(book.json().trackingToken);
      const track = await app.inject({ url: `/v1/track/${book.json().trackingToken}` });
      assert.equal(track.statusCode, 200, track.body);
    }
    const cancel = await app.inject({
      method: 'POST',
      url: `/v1/appointments/${booked[2].id}/cancel`,
      headers: staff.auth,
      payload: { reason: 'Patient asked by phone' },
    });
    assert.equal(cancel.statusCode, 200, cancel.body);

    clock.set(IN_SESSION);
    const queueId = booked[0].queueId;
    const walkInPhone = '+8801711000404';
    secrets.push('Shirin Sultana', walkInPhone, '01711000404');
    const walkIn = await app.inject({
      method: 'POST',
      url: `/v1/queues/${queueId}/walk-ins`,
      headers: staff.auth,
      payload: { name: 'Shirin Sultana', phone: walkInPhone },
    });
    assert.equal(walkIn.statusCode, 201, walkIn.body);
    secrets.push(walkIn.json().trackingToken);

    const op = async (path: string) => {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/queues/${queueId}/${path}`,
        headers: staff.auth,
      });
      assert.equal(res.statusCode, 200, `${path}: ${res.body}`);
      return res.json();
    };
    await op(`entries/${booked[0].id}/check-in`);
    await op('call-next');
    await op(`entries/${booked[0].id}/complete`);
    await op('call-next');
    await op(`entries/${booked[1].id}/complete`);
    await op('call-next');

    for (let i = 0; i < 5; i++) await app.notifications.drain();
    const sent = await app.db
      .selectFrom('notificationOutbox')
      .select(['kind', 'channel', 'status'])
      .where('status', '=', 'sent')
      .execute();
    assert.ok(sent.length >= 6, `messages went out through the log transport: ${JSON.stringify(sent)}`);

    const log = lines.join('');
    const notifications = lines.filter((line) => line.includes('"msg":"notification"'));
    assert.equal(notifications.length, sent.length, 'every sent message was logged');
    assert.ok(
      notifications.some((line) => line.includes('https://queue.clinic.example/t/[redacted]')),
      'tracking links were in the messages, redacted',
    );
    for (const secret of secrets) assert.ok(!log.includes(secret), `the log holds ${secret}`);
    assert.doesNotMatch(log, /\/(t|track)\/(?!\[redacted\])[A-Za-z0-9_-]{8,}/, 'no tracking link');
    assert.doesNotMatch(log, /[\w.+-]+@[\w-]+\.[\w.-]+/, 'no e-mail address');
  });
});
