import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { hashToken } from '../../src/lib/tokens.js';
import { TEST_JWT_SECRET } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A JWT built by hand, so tests control every part of it (alg, claims, signature). */
function craftJwt(header: Record<string, unknown>, payload: Record<string, unknown>, secret?: string) {
  const head = `${b64(header)}.${b64(payload)}`;
  const signature = secret ? createHmac('sha256', secret).update(head).digest('base64url') : '';
  return `${head}.${signature}`;
}

async function count(app: FastifyInstance, table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(
    app.db,
  );
  return rows[0].n;
}

function post(app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url, payload: payload as Record<string, unknown>, headers });
}

for (const backend of await databaseBackends()) {
  describe(`auth [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('a patient registers, signs in and reads /me with a self profile', async () => {
      const { app } = shared.current;
      const email = uniqueEmail('pat');
      const reg = await post(app, '/v1/auth/register', {
        email,
        password: PASSWORD,
        name: 'Nadia Islam',
        phone: '01711-000002',
      });
      assert.equal(reg.statusCode, 201);
      const body = reg.json();
      assert.equal(body.user.role, 'patient');
      assert.equal(body.user.phone, '+8801711000002');
      assert.equal(body.expiresIn, 15 * 60);
      assert.ok(body.user.profileId);
      const me = await app.inject({
        url: '/v1/me',
        headers: { authorization: `Bearer ${body.accessToken}` },
      });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().email, email);
      assert.equal(me.json().profileId, body.user.profileId);
      const login = await post(app, '/v1/auth/login', { email: email.toUpperCase(), password: PASSWORD });
      assert.equal(login.statusCode, 200, 'e-mail is matched case-insensitively');
      const stored = await app.db
        .selectFrom('users')
        .select('passwordHash')
        .where('email', '=', email)
        .executeTakeFirstOrThrow();
      assert.match(stored.passwordHash, /^scrypt\$/);
      assert.ok(!stored.passwordHash.includes(PASSWORD));
    });

    test('a doctor registers with a licence number and starts unverified', async () => {
      const { app } = shared.current;
      const res = await post(app, '/v1/auth/register', {
        email: uniqueEmail('doc'),
        password: PASSWORD,
        name: 'Dr. Sultana',
        role: 'doctor',
        licenseNo: 'BMDC-T-1',
      });
      assert.equal(res.statusCode, 201);
      const { user } = res.json();
      assert.equal(user.role, 'doctor');
      assert.ok(user.doctorId);
      assert.equal(user.profileId, undefined);
      const doctor = await app.db
        .selectFrom('doctors')
        .select(['licenseNo', 'verifiedAt'])
        .where('id', '=', user.doctorId)
        .executeTakeFirstOrThrow();
      assert.equal(doctor.licenseNo, 'BMDC-T-1');
      assert.equal(doctor.verifiedAt, null);
    });

    test('a doctor may register with a phone number instead of a licence number', async () => {
      const { app } = shared.current;
      const res = await post(app, '/v1/auth/register', {
        email: uniqueEmail('doc'),
        password: PASSWORD,
        name: 'Dr. Phone',
        role: 'doctor',
        phone: '+8801811000123',
      });
      assert.equal(res.statusCode, 201);
      assert.equal(res.json().user.phone, '+8801811000123');
    });

    test('a doctor with neither licence nor phone is refused and nothing is stored', async () => {
      const { app } = shared.current;
      const before = await count(app, 'users');
      const res = await post(app, '/v1/auth/register', {
        email: uniqueEmail('doc'),
        password: PASSWORD,
        name: 'Dr. Nobody',
        role: 'doctor',
      });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'VALIDATION_FAILED');
      assert.equal(res.json().details[0].field, 'body.licenseNo');
      assert.equal(await count(app, 'users'), before);
    });

    test('a duplicate licence number answers 409', async () => {
      const { app } = shared.current;
      const payload = { password: PASSWORD, name: 'Dr. Twin', role: 'doctor', licenseNo: 'BMDC-DUP-7' };
      assert.equal(
        (await post(app, '/v1/auth/register', { ...payload, email: uniqueEmail() })).statusCode,
        201,
      );
      const again = await post(app, '/v1/auth/register', { ...payload, email: uniqueEmail() });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'CONFLICT');
    });

    test('an e-mail already registered in another case answers as a fresh one would and stores nothing', async () => {
      const { app } = shared.current;
      const email = uniqueEmail('dup');
      const first = await post(app, '/v1/auth/register', { email, password: PASSWORD, name: 'First' });
      assert.equal(first.statusCode, 201);
      const before = await count(app, 'users');
      const second = await post(app, '/v1/auth/register', {
        email: email.toUpperCase(),
        password: PASSWORD,
        name: 'Second',
      });
      // No enumeration: the same 201 as a fresh registration (registration-enumeration.test.ts has the rest).
      assert.equal(second.statusCode, 201);
      assert.equal(await count(app, 'users'), before);
    });

    test('an invalid phone number answers 400 naming the field', async () => {
      const { app } = shared.current;
      const before = await count(app, 'users');
      const res = await post(app, '/v1/auth/register', {
        email: uniqueEmail(),
        password: PASSWORD,
        name: 'Bad Phone',
        phone: '12345',
      });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().code, 'VALIDATION_FAILED');
      assert.equal(res.json().details[0].field, 'body.phone');
      assert.equal(await count(app, 'users'), before);
    });

    test('a wrong password and an unknown e-mail both answer 401 UNAUTHENTICATED', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const wrong = await post(app, '/v1/auth/login', { email: user.email, password: 'not the password' });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().code, 'UNAUTHENTICATED');
      const unknown = await post(app, '/v1/auth/login', { email: uniqueEmail('ghost'), password: PASSWORD });
      assert.equal(unknown.statusCode, 401);
      assert.equal(unknown.json().message, wrong.json().message, 'no hint whether the account exists');
      assert.equal(wrong.json().accessToken, undefined);
    });

    test('refresh rotates: a new pair each time, and the new refresh token works', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const first = await post(app, '/v1/auth/refresh', { refreshToken: user.refreshToken });
      assert.equal(first.statusCode, 200);
      const rotated = first.json();
      assert.notEqual(rotated.refreshToken, user.refreshToken);
      assert.equal(rotated.user.id, user.id);
      const me = await app.inject({
        url: '/v1/me',
        headers: { authorization: `Bearer ${rotated.accessToken}` },
      });
      assert.equal(me.statusCode, 200);
      const second = await post(app, '/v1/auth/refresh', { refreshToken: rotated.refreshToken });
      assert.equal(second.statusCode, 200);
      const issued = await app.db
        .selectFrom('refreshTokens')
        .select('familyId')
        .where('tokenHash', '=', hashToken(user.refreshToken))
        .executeTakeFirstOrThrow();
      const family = await app.db
        .selectFrom('refreshTokens')
        .select(['tokenHash', 'usedAt'])
        .where('familyId', '=', issued.familyId)
        .execute();
      assert.equal(family.length, 3, 'one family across rotations');
      assert.equal(family.filter((r) => r.usedAt === null).length, 1, 'only the newest is unused');
      const all = await app.db.selectFrom('refreshTokens').select('tokenHash').execute();
      assert.ok(
        all.every((r) => r.tokenHash !== user.refreshToken),
        'stored hashed, never as given',
      );
    });

    test('reusing a used refresh token revokes the whole family', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const rotated = (await post(app, '/v1/auth/refresh', { refreshToken: user.refreshToken })).json();
      const reuse = await post(app, '/v1/auth/refresh', { refreshToken: user.refreshToken });
      assert.equal(reuse.statusCode, 401);
      assert.equal(reuse.json().code, 'UNAUTHENTICATED');
      assert.equal(reuse.json().details.reason, 'reused');
      const newest = await post(app, '/v1/auth/refresh', { refreshToken: rotated.refreshToken });
      assert.equal(newest.statusCode, 401, 'the newest token of the family is revoked too');
      assert.equal(newest.json().code, 'UNAUTHENTICATED');
      const again = await post(app, '/v1/auth/refresh', { refreshToken: user.refreshToken });
      assert.equal(again.statusCode, 401);
    });

    test('a reused token does not revoke another sign-in of the same account', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const other = (await post(app, '/v1/auth/login', { email: user.email, password: PASSWORD })).json();
      await post(app, '/v1/auth/refresh', { refreshToken: user.refreshToken });
      await post(app, '/v1/auth/refresh', { refreshToken: user.refreshToken });
      const res = await post(app, '/v1/auth/refresh', { refreshToken: other.refreshToken });
      assert.equal(res.statusCode, 200);
    });

    test('an unknown refresh token answers 401', async () => {
      const { app } = shared.current;
      const res = await post(app, '/v1/auth/refresh', { refreshToken: 'x'.repeat(43) });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'UNAUTHENTICATED');
    });

    test('logout revokes the refresh token; logging out twice is harmless', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const out = await post(app, '/v1/auth/logout', { refreshToken: user.refreshToken });
      assert.equal(out.statusCode, 204);
      const refresh = await post(app, '/v1/auth/refresh', { refreshToken: user.refreshToken });
      assert.equal(refresh.statusCode, 401);
      assert.equal(refresh.json().details.reason, 'revoked');
      assert.equal((await post(app, '/v1/auth/logout', { refreshToken: user.refreshToken })).statusCode, 204);
    });

    test('an expired access token answers 401 UNAUTHENTICATED (expired)', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const past = Math.floor(Date.now() / 1000) - 3600;
      const token = craftJwt(
        { alg: 'HS256', typ: 'JWT' },
        { sub: user.id, role: 'patient', typ: 'access', iat: past, exp: past + 900 },
        TEST_JWT_SECRET,
      );
      const res = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'UNAUTHENTICATED');
      assert.equal(res.json().details.reason, 'expired');
    });

    test('a hand-made token with the right secret is accepted (the forgery checks below can fail)', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const now = Math.floor(Date.now() / 1000);
      const token = craftJwt(
        { alg: 'HS256', typ: 'JWT' },
        { sub: user.id, role: 'patient', typ: 'access', iat: now, exp: now + 900 },
        TEST_JWT_SECRET,
      );
      const res = await app.inject({ url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.statusCode, 200);
    });

    test('forged access tokens answer 401 UNAUTHENTICATED', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const now = Math.floor(Date.now() / 1000);
      const claims = { sub: user.id, role: 'admin', typ: 'access', iat: now, exp: now + 900 };
      const [head, , signature] = user.token.split('.');
      const genuine = JSON.parse(Buffer.from(user.token.split('.')[1], 'base64url').toString());
      const forged = {
        'another secret': craftJwt(
          { alg: 'HS256', typ: 'JWT' },
          claims,
          'some-other-secret-of-enough-length!!',
        ),
        'alg none': craftJwt({ alg: 'none', typ: 'JWT' }, claims),
        'tampered payload': `${head}.${b64({ ...genuine, role: 'admin' })}.${signature}`,
        'not an access token': craftJwt(
          { alg: 'HS256', typ: 'JWT' },
          { ...claims, typ: 'refresh' },
          TEST_JWT_SECRET,
        ),
        garbage: 'not.a.jwt',
      };
      for (const [kind, token] of Object.entries(forged)) {
        for (const url of ['/v1/me', '/v1/admin/users']) {
          const res = await app.inject({ url, headers: { authorization: `Bearer ${token}` } });
          assert.equal(res.statusCode, 401, `${kind} on ${url}`);
          assert.equal(res.json().code, 'UNAUTHENTICATED', kind);
        }
      }
      const basic = await app.inject({ url: '/v1/me', headers: { authorization: 'Basic dXNlcjpwYXNz' } });
      assert.equal(basic.statusCode, 401);
      assert.equal(basic.json().code, 'UNAUTHENTICATED');
    });

    test('no token answers 401; a patient on an admin route answers 403', async () => {
      const { app } = shared.current;
      const patient = await makeUser(app, 'patient');
      const anonymous = await app.inject({ url: '/v1/admin/users' });
      assert.equal(anonymous.statusCode, 401);
      assert.equal(anonymous.json().code, 'UNAUTHENTICATED');
      for (const request of [
        { method: 'GET' as const, url: '/v1/admin/users' },
        { method: 'GET' as const, url: '/v1/admin/audit' },
        {
          method: 'POST' as const,
          url: '/v1/admin/users',
          payload: { email: uniqueEmail(), password: PASSWORD, name: 'X', role: 'admin' },
        },
      ]) {
        const res = await app.inject({ ...request, headers: patient.auth });
        assert.equal(res.statusCode, 403, request.url);
        assert.equal(res.json().code, 'FORBIDDEN');
      }
      const doctor = await makeUser(app, 'doctor');
      const dependents = await app.inject({ url: '/v1/me/dependents', headers: doctor.auth });
      assert.equal(dependents.statusCode, 403, 'dependents are for patients');
    });

    test('a disabled account cannot sign in, use its access token or refresh', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const user = await makeUser(app, 'patient');
      const disable = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: admin.auth,
        payload: { disabled: true },
      });
      assert.equal(disable.statusCode, 200);
      assert.equal(disable.json().disabled, true);
      const login = await post(app, '/v1/auth/login', { email: user.email, password: PASSWORD });
      assert.equal(login.statusCode, 401);
      assert.equal(login.json().details.reason, 'disabled');
      const me = await app.inject({ url: '/v1/me', headers: user.auth });
      assert.equal(me.statusCode, 401);
      assert.equal(me.json().code, 'UNAUTHENTICATED');
      const refresh = await post(app, '/v1/auth/refresh', { refreshToken: user.refreshToken });
      assert.equal(refresh.statusCode, 401);
      const enable = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${user.id}`,
        headers: admin.auth,
        payload: { disabled: false },
      });
      assert.equal(enable.statusCode, 200);
      assert.equal(
        (await post(app, '/v1/auth/login', { email: user.email, password: PASSWORD })).statusCode,
        200,
      );
    });
  });
}
