// Registering an e-mail that already has an account answers exactly as a fresh registration does, changes
// nothing of that account, and tells its owner by e-mail through the outbox instead.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

function register(app: FastifyInstance, payload: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/v1/auth/register', payload });
}

/** The answer's shape: every key, and the type of every value, recursively. */
function shape(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value === null ? 'null' : typeof value;
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, shape(v)]),
  );
}

function repeatNotes(app: FastifyInstance, userId: string) {
  return app.db
    .selectFrom('notificationOutbox')
    .select(['kind', 'channel', 'recipient', 'userId', 'payload'])
    .where('userId', '=', userId)
    .where('kind', '=', 'registration_repeated')
    .execute();
}

for (const backend of await databaseBackends()) {
  describe(`registration does not reveal accounts [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('a taken e-mail gets the same status and shape as a fresh one, and the owner an e-mail', async () => {
      const { app } = shared.current;
      const owner = await makeUser(app, 'patient', { name: 'Real Owner' });
      const fresh = await register(app, {
        email: uniqueEmail('fresh'),
        password: 'another long passphrase',
        name: 'Someone New',
        phone: '01711 555 000',
      });
      const repeated = await register(app, {
        email: owner.email.toUpperCase(),
        password: 'another long passphrase',
        name: 'Someone New',
        phone: '01711 555 000',
      });
      assert.equal(fresh.statusCode, 201);
      assert.equal(repeated.statusCode, 201, repeated.body);
      assert.deepEqual(shape(repeated.json()), shape(fresh.json()));
      assert.equal(
        repeated.json().user.email,
        owner.email.toUpperCase(),
        'echoes what was sent, as fresh does',
      );
      assert.notEqual(repeated.json().user.id, owner.id, 'never the owner’s id');

      const accounts = await app.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', owner.email)
        .execute();
      assert.equal(accounts.length, 1, 'no second account');
      const signIn = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: owner.email, password: PASSWORD },
      });
      assert.equal(signIn.statusCode, 200, 'the owner’s password is unchanged');
      assert.equal(signIn.json().user.name, 'Real Owner');

      const me = await app.inject({
        url: '/v1/me',
        headers: { authorization: `Bearer ${repeated.json().accessToken}` },
      });
      assert.equal(me.statusCode, 401, 'the answer’s tokens open nothing');
      const refresh = await app.inject({
        method: 'POST',
        url: '/v1/auth/refresh',
        payload: { refreshToken: repeated.json().refreshToken },
      });
      assert.equal(refresh.statusCode, 401);

      const notes = await repeatNotes(app, owner.id);
      assert.equal(notes.length, 1);
      assert.equal(notes[0].channel, 'email');
      assert.equal(notes[0].recipient, owner.email);
      assert.match(JSON.stringify(notes[0].payload), /\/reset/, 'the note offers a reset');
    });

    test('the owner is told once an hour however often the e-mail is tried', async () => {
      const { app } = shared.current;
      const owner = await makeUser(app, 'doctor');
      for (let i = 0; i < 3; i++) {
        const res = await register(app, {
          email: owner.email,
          password: 'yet another passphrase',
          name: 'Try Again',
          role: 'doctor',
          licenseNo: `LIC-REPEAT-${i}`,
        });
        assert.equal(res.statusCode, 201);
        assert.ok(res.json().user.doctorId, 'a doctor’s answer carries a doctorId, as a fresh one does');
      }
      assert.equal((await repeatNotes(app, owner.id)).length, 1);
    });
  });
}
