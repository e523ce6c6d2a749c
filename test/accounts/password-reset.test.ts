// Password reset by e-mailed link and by SMS code: the same answer whether or not an account matches,
// single-use, short-lived, stored hashed, limited, and every session revoked after a reset.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import {
  RESET_CODE_ATTEMPTS,
  RESET_LINK_MINUTES,
  RESET_REQUESTS_PER_HOUR,
} from '../../src/modules/accounts/accounts.reset.service.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { TestSmtp } from '../helpers/smtp.js';
import { makeUser, PASSWORD, type TestUser } from '../helpers/users.js';

const NEW_PASSWORD = 'the river runs north today';

let smtp: TestSmtp;
before(async () => {
  smtp = await TestSmtp.start();
});
after(async () => {
  await smtp.stop();
});

function requestReset(app: FastifyInstance, body: object) {
  return app.inject({ method: 'POST', url: '/v1/auth/password-reset', payload: body });
}

function confirm(app: FastifyInstance, body: object) {
  return app.inject({ method: 'POST', url: '/v1/auth/password-reset/confirm', payload: body });
}

function signIn(app: FastifyInstance, email: string, password: string) {
  return app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });
}

async function resetMessages(app: FastifyInstance, userId: string) {
  const rows = await app.db
    .selectFrom('notificationOutbox')
    .select(['kind', 'channel', 'recipient', 'payload'])
    .where('userId', '=', userId)
    .where('kind', 'in', ['password_reset', 'password_reset_code'])
    .orderBy('createdAt')
    .execute();
  return rows.map((r) => ({ ...r, payload: r.payload as { resetUrl?: string; code?: string } }));
}

async function lastLinkToken(app: FastifyInstance, user: TestUser): Promise<string> {
  const messages = await resetMessages(app, user.id);
  const url = new URL(messages.at(-1)?.payload.resetUrl ?? '');
  assert.equal(url.pathname, '/reset');
  return url.searchParams.get('token') ?? '';
}

async function lastCode(app: FastifyInstance, user: TestUser): Promise<string> {
  const messages = await resetMessages(app, user.id);
  return messages.at(-1)?.payload.code ?? '';
}

for (const backend of await databaseBackends()) {
  describe(`password reset [${backend}]`, () => {
    test('by e-mail: one link, stored hashed, single use; the new password works and sessions end', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, {
        backend,
        clock,
        env: { NOTIFY_CRON: 'false', NOTIFY_EMAIL: 'smtp', SMTP_URL: smtp.url, MAIL_FROM: 'cq@clinic.test' },
      });
      const user = await makeUser(app, 'patient');
      const known = await requestReset(app, { email: user.email });
      const unknown = await requestReset(app, { email: 'nobody-here@example.test' });
      assert.equal(known.statusCode, 202);
      assert.equal(unknown.statusCode, 202);
      assert.deepEqual(unknown.json(), known.json(), 'the same answer whether or not the account exists');
      const outbox = await app.db.selectFrom('notificationOutbox').select('recipient').execute();
      assert.deepEqual(
        outbox.map((r) => r.recipient),
        [user.email],
        'a message only to the account that exists',
      );

      const token = await lastLinkToken(app, user);
      assert.ok(token.length >= 40);
      const stored = await app.db
        .selectFrom('passwordResets')
        .selectAll()
        .where('userId', '=', user.id)
        .execute();
      assert.equal(stored.length, 1);
      assert.equal(stored[0].secretHash, createHash('sha256').update(token).digest('base64url'));
      assert.ok(!JSON.stringify(stored).includes(token), 'the raw token is not stored');

      const before = smtp.mails.length;
      await app.notifications.drain();
      const mail = smtp.mails.slice(before).find((m) => m.to.includes(user.email));
      assert.ok(mail, 'the link went out by e-mail');
      assert.match(mail.raw.replace(/=\r?\n/g, ''), /reset\?token=/);

      const weak = await confirm(app, { token, newPassword: 'password1' });
      assert.equal(weak.statusCode, 400);
      assert.equal(weak.json().code, 'VALIDATION_FAILED');
      assert.match(JSON.stringify(weak.json().details), /body\.newPassword/);

      const done = await confirm(app, { token, newPassword: NEW_PASSWORD });
      assert.equal(done.statusCode, 204, 'a refused password left the link usable');
      assert.equal((await signIn(app, user.email, PASSWORD)).statusCode, 401, 'the old password is gone');
      assert.equal((await signIn(app, user.email, NEW_PASSWORD)).statusCode, 200);
      const refresh = await app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: user.refreshToken },
      });
      assert.equal(refresh.statusCode, 401, 'sessions from before the reset are revoked');

      const again = await confirm(app, { token, newPassword: 'and once more with feeling' });
      assert.equal(again.statusCode, 400, 'a link works once');
      assert.equal((await signIn(app, user.email, NEW_PASSWORD)).statusCode, 200);
    });

    test('a link expires after its lifetime and a newer request replaces it', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: { NOTIFY_CRON: 'false' } });
      const user = await makeUser(app, 'patient');
      await requestReset(app, { email: user.email });
      const first = await lastLinkToken(app, user);
      clock.advance((RESET_LINK_MINUTES + 1) * 60_000);
      assert.equal(
        (await confirm(app, { token: first, newPassword: NEW_PASSWORD })).statusCode,
        400,
        'expired',
      );
      await requestReset(app, { email: user.email });
      const second = await lastLinkToken(app, user);
      await requestReset(app, { email: user.email });
      const third = await lastLinkToken(app, user);
      assert.equal(
        (await confirm(app, { token: second, newPassword: NEW_PASSWORD })).statusCode,
        400,
        'replaced',
      );
      assert.equal((await confirm(app, { token: third, newPassword: NEW_PASSWORD })).statusCode, 204);
      assert.equal((await signIn(app, user.email, PASSWORD)).statusCode, 401);
    });

    test('by SMS: a 6-digit code, hashed, that dies after too many wrong guesses', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: { NOTIFY_CRON: 'false' } });
      const user = await makeUser(app, 'patient', { phone: '01711 222 333' });
      const known = await requestReset(app, { phone: '01711222333' });
      const unknown = await requestReset(app, { phone: '01711999888' });
      assert.equal(known.statusCode, 202);
      assert.deepEqual(unknown.json(), known.json());
      const [message] = await resetMessages(app, user.id);
      assert.equal(message.channel, 'sms');
      assert.equal(message.recipient, '+8801711222333');
      const code = await lastCode(app, user);
      assert.match(code, /^[0-9]{6}$/);
      const stored = await app.db
        .selectFrom('passwordResets')
        .selectAll()
        .where('userId', '=', user.id)
        .execute();
      assert.ok(stored[0].secretHash.startsWith('scrypt$'), 'a short code is stored under a slow hash');

      const wrong = code === '000000' ? '111111' : '000000';
      for (let i = 0; i < RESET_CODE_ATTEMPTS; i++) {
        const res = await confirm(app, { phone: '+8801711222333', code: wrong, newPassword: NEW_PASSWORD });
        assert.equal(res.statusCode, 400, `wrong guess ${i}`);
      }
      const late = await confirm(app, { phone: '01711222333', code, newPassword: NEW_PASSWORD });
      assert.equal(late.statusCode, 400, 'after too many wrong guesses even the right code is refused');
      assert.equal((await signIn(app, user.email, PASSWORD)).statusCode, 200, 'nothing changed');

      await requestReset(app, { phone: '01711222333' });
      const fresh = await lastCode(app, user);
      const ok = await confirm(app, { phone: '01711222333', code: fresh, newPassword: NEW_PASSWORD });
      assert.equal(ok.statusCode, 204);
      assert.equal((await signIn(app, user.email, NEW_PASSWORD)).statusCode, 200);
    });

    test('an account gets a few requests an hour; more answer the same and send nothing', async (t) => {
      const clock = new ManualClock('2026-05-04T06:00:00Z');
      const { app } = await buildTestApp(t, { backend, clock, env: { NOTIFY_CRON: 'false' } });
      const user = await makeUser(app, 'patient');
      const answers = [];
      for (let i = 0; i < RESET_REQUESTS_PER_HOUR + 2; i++)
        answers.push(await requestReset(app, { email: user.email }));
      for (const res of answers) assert.equal(res.statusCode, 202);
      assert.equal((await resetMessages(app, user.id)).length, RESET_REQUESTS_PER_HOUR);
      clock.advance(61 * 60_000);
      await requestReset(app, { email: user.email });
      assert.equal((await resetMessages(app, user.id)).length, RESET_REQUESTS_PER_HOUR + 1, 'an hour later');
    });

    test('a bad request is refused with the error shape and changes nothing', async (t) => {
      const { app } = await buildTestApp(t, { backend, env: { NOTIFY_CRON: 'false' } });
      for (const body of [{}, { email: 'not-an-email' }, { email: 'a@b.test', phone: '01711222333' }]) {
        const res = await requestReset(app, body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().code, 'VALIDATION_FAILED');
      }
      for (const body of [
        { token: 'x'.repeat(43) },
        { token: 'x'.repeat(43), newPassword: NEW_PASSWORD, code: '123456' },
        { phone: '01711222333', code: '12345', newPassword: NEW_PASSWORD },
      ]) {
        const res = await confirm(app, body);
        assert.equal(res.statusCode, 400, JSON.stringify(body));
        assert.equal(res.json().code, 'VALIDATION_FAILED');
      }
      const unknownToken = await confirm(app, { token: 'y'.repeat(43), newPassword: NEW_PASSWORD });
      assert.equal(unknownToken.statusCode, 400);
      const count = await app.db.selectFrom('passwordResets').select('id').execute();
      assert.equal(count.length, 0);
    });
  });
}
