// E-mail through nodemailer to a real SMTP server (smtp-server) on a local port.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { TestSmtp } from '../helpers/smtp.js';
import { makeUser } from '../helpers/users.js';
import { book, outbox, seedClinic } from './fixtures.js';

let smtp: TestSmtp;
before(async () => {
  smtp = await TestSmtp.start();
});
after(async () => {
  await smtp.stop();
});

/** Decodes the quoted-printable or base64 text body nodemailer produced. */
function bodyText(raw: string): string {
  const [head, ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join('\n\n');
  if (/Content-Transfer-Encoding: base64/i.test(head))
    return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString();
  if (/Content-Transfer-Encoding: quoted-printable/i.test(head))
    return Buffer.from(
      body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => `%${h}`),
      'latin1',
    )
      .toString()
      .replace(/(%[0-9A-F]{2})+/gi, (m) => decodeURIComponent(m));
  return body;
}

for (const backend of await databaseBackends()) {
  describe(`smtp e-mail [${backend}]`, () => {
    test('a patient without a phone gets the confirmation by e-mail, in their language', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, {
        backend,
        clock,
        env: {
          NOTIFY_CRON: 'false',
          NOTIFY_EMAIL: 'smtp',
          SMTP_URL: smtp.url,
          MAIL_FROM: 'Clinic <desk@clinic.test>',
        },
      });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient');
      const bn = await makeUser(app, 'patient');
      await app.notifications.queries.updatePreferences(bn.id, { language: 'bn' });
      const before = smtp.mails.length;
      const booked = await book(app, clinic, patient, new Date('2026-05-06T04:00:00Z'));
      await book(app, clinic, bn, new Date('2026-05-06T04:15:00Z'));
      const result = await app.notifications.drain();
      assert.equal(result.sent, 2);
      const mails = smtp.mails.slice(before);
      const mine = mails.find((m) => m.to.includes(patient.email));
      assert.ok(mine, 'delivered to the patient address');
      assert.equal(mine.from, 'desk@clinic.test');
      assert.match(mine.raw, /Subject: Appointment booked: serial/);
      assert.match(bodyText(mine.raw), /Wed 6 May, 10:00/);
      const bengali = mails.find((m) => m.to.includes(bn.email));
      assert.ok(bengali);
      assert.match(bodyText(bengali.raw), /সিরিয়াল/);
      const row = (await outbox(app, booked.appointmentId))[0];
      assert.equal(row.channel, 'email');
      assert.equal(row.status, 'sent');
      assert.ok(row.providerId, 'the SMTP message id is kept');
    });

    test('an unreachable SMTP server leaves the mail pending for a retry', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, {
        backend,
        clock,
        env: {
          NOTIFY_CRON: 'false',
          NOTIFY_EMAIL: 'smtp',
          SMTP_URL: 'smtp://127.0.0.1:1',
          NOTIFY_TIMEOUT_MS: '1000',
        },
      });
      const clinic = await seedClinic(app);
      const patient = await makeUser(app, 'patient');
      const booked = await book(app, clinic, patient, new Date('2026-05-06T04:00:00Z'));
      const result = await app.notifications.drain();
      assert.equal(result.retried, 1);
      const [row] = await outbox(app, booked.appointmentId);
      assert.equal(row.status, 'pending');
      assert.match(row.lastError ?? '', /SMTP/);
    });
  });
}
