import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

const ALLOWED_KEYS = new Set(['statusCode', 'code', 'error', 'message', 'details']);

/** The documented error shape, and nothing that looks like internals. */
function assertError(res: LightMyRequestResponse, status: number, code: string) {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /application\/json/);
  const body = res.json();
  for (const key of Object.keys(body)) assert.ok(ALLOWED_KEYS.has(key), `unexpected key ${key}`);
  assert.equal(body.statusCode, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.message, 'string');
  assert.doesNotMatch(res.body, /\bat .+:\d+:\d+|node_modules|\.ts:\d+|stack/i, 'no stack trace');
  return body as { statusCode: number; code: string; message: string; details?: unknown };
}

function fields(body: { details?: unknown }): string[] {
  return (body.details as { field: string }[]).map((d) => d.field);
}

/** Row counts of every accounts table: a refused request must leave all of them as they were. */
async function snapshot(app: FastifyInstance): Promise<string> {
  const { rows } = await sql<{ t: string; n: number }>`
    select 'users' as t, count(*)::int as n from users
    union all select 'refresh_tokens', count(*)::int from refresh_tokens
    union all select 'patient_profiles', count(*)::int from patient_profiles
    union all select 'audit_log', count(*)::int from audit_log`.execute(app.db);
  return JSON.stringify(rows);
}

for (const backend of await databaseBackends()) {
  describe(`error shape [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    async function refused(
      request: InjectOptions,
      status: number,
      code: string,
    ): Promise<ReturnType<typeof assertError>> {
      const { app } = shared.current;
      const before = await snapshot(app);
      const res = await app.inject(request);
      const body = assertError(res, status, code);
      assert.equal(await snapshot(app), before, 'the database is unchanged');
      return body;
    }

    const register = (payload: unknown) => ({
      method: 'POST' as const,
      url: '/v1/auth/register',
      headers: { 'content-type': 'application/json' },
      payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
    });

    test('malformed JSON answers 400 VALIDATION_FAILED', async () => {
      await refused(register('{"email": "a@b.test", "password": '), 400, 'VALIDATION_FAILED');
      await refused(register('{"email": "a@b.test",}'), 400, 'VALIDATION_FAILED');
    });

    test('an empty JSON body answers 400', async () => {
      await refused(register(''), 400, 'VALIDATION_FAILED');
    });

    test('a body of an unsupported media type answers 415; plain text is refused as not an object', async () => {
      await refused(
        { method: 'POST', url: '/v1/auth/login', headers: { 'content-type': 'text/plain' }, payload: 'hi' },
        400,
        'VALIDATION_FAILED',
      );
      await refused(
        {
          method: 'POST',
          url: '/v1/auth/login',
          headers: { 'content-type': 'application/xml' },
          payload: '<a/>',
        },
        415,
        'UNSUPPORTED_MEDIA_TYPE',
      );
    });

    test('wrong types answer 400 naming the field', async () => {
      const cases: [unknown, string][] = [
        [{ email: uniqueEmail(), password: PASSWORD, name: { first: 'A' } }, 'body.name'],
        [{ email: uniqueEmail(), password: PASSWORD, name: 'A', role: 7 }, 'body.role'],
        [{ email: { address: 'x@y.test' }, password: PASSWORD, name: 'A' }, 'body.email'],
        [{ email: uniqueEmail(), password: PASSWORD, name: 'A', role: ['patient', 'doctor'] }, 'body.role'],
        [[1, 2, 3], ''],
        // JSON bodies are not coerced: a number or a one-item list where a string belongs is refused.
        [{ email: uniqueEmail(), password: PASSWORD, name: 12345 }, 'body.name'],
        [{ email: uniqueEmail(), password: PASSWORD, name: ['Alone'] }, 'body.name'],
        [{ email: uniqueEmail(), password: 123456789, name: 'A' }, 'body.password'],
      ];
      for (const [payload, field] of cases) {
        const body = await refused(register(payload), 400, 'VALIDATION_FAILED');
        if (field) assert.ok(fields(body).includes(field), `${fields(body)} names ${field}`);
      }
      const admin = await makeUser(shared.current.app, 'admin');
      const body = await refused(
        { method: 'GET', url: '/v1/admin/users?limit=abc', headers: admin.auth },
        400,
        'VALIDATION_FAILED',
      );
      assert.deepEqual(fields(body), ['querystring.limit']);
      const patch = await refused(
        {
          method: 'PATCH',
          url: `/v1/admin/users/${admin.id}`,
          headers: admin.auth,
          payload: { disabled: 'maybe' },
        },
        400,
        'VALIDATION_FAILED',
      );
      assert.deepEqual(fields(patch), ['body.disabled']);
    });

    test('missing fields answer 400 naming the field', async () => {
      const body = await refused(
        register({ email: uniqueEmail(), name: 'No Password' }),
        400,
        'VALIDATION_FAILED',
      );
      assert.deepEqual(fields(body), ['body.password']);
      const login = await refused(
        { method: 'POST', url: '/v1/auth/login', payload: { password: PASSWORD } },
        400,
        'VALIDATION_FAILED',
      );
      assert.deepEqual(fields(login), ['body.email']);
    });

    test('unknown fields answer 400 naming the field', async () => {
      const body = await refused(
        register({ email: uniqueEmail(), password: PASSWORD, name: 'Extra', role: 'patient', isAdmin: true }),
        400,
        'VALIDATION_FAILED',
      );
      assert.deepEqual(fields(body), ['body.isAdmin']);
      assert.match(body.message, /isAdmin/);
    });

    test('a 10 MB body answers 413 PAYLOAD_TOO_LARGE', async () => {
      const huge = JSON.stringify({
        email: uniqueEmail(),
        password: PASSWORD,
        name: 'x'.repeat(10 * 1024 * 1024),
      });
      await refused(register(huge), 413, 'PAYLOAD_TOO_LARGE');
    });

    test('overlong strings answer 400 naming the field', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ email: uniqueEmail(), password: PASSWORD, name: 'n'.repeat(201) }, 'body.name'],
        [{ email: `${'e'.repeat(300)}@example.test`, password: PASSWORD, name: 'A' }, 'body.email'],
        [{ email: uniqueEmail(), password: 'p'.repeat(201), name: 'A' }, 'body.password'],
        [{ email: uniqueEmail(), password: PASSWORD, name: 'A', phone: '1'.repeat(40) }, 'body.phone'],
      ];
      for (const [payload, field] of cases) {
        const body = await refused(register(payload), 400, 'VALIDATION_FAILED');
        assert.deepEqual(fields(body), [field]);
      }
    });

    test('an unknown route answers 404 NOT_FOUND', async () => {
      await refused({ method: 'GET', url: '/v1/nothing-here?x=1' }, 404, 'NOT_FOUND');
      await refused({ method: 'DELETE', url: '/v1/auth/login' }, 404, 'NOT_FOUND');
    });

    test('an unknown id answers 404 and a non-uuid id answers 400', async () => {
      const patient = await makeUser(shared.current.app, 'patient');
      await refused(
        {
          method: 'PATCH',
          url: '/v1/me/dependents/00000000-0000-4000-8000-00000000abcd',
          headers: patient.auth,
          payload: { name: 'Nobody' },
        },
        404,
        'NOT_FOUND',
      );
      for (const id of ['123', "1' or '1'='1", 'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz']) {
        const body = await refused(
          {
            method: 'DELETE',
            url: `/v1/me/dependents/${encodeURIComponent(id)}`,
            headers: patient.auth,
          },
          400,
          'VALIDATION_FAILED',
        );
        assert.deepEqual(fields(body), ['params.id']);
      }
    });

    test('SQL-looking strings are stored literally and break nothing', async () => {
      const { app } = shared.current;
      const name = "Robert'); DROP TABLE users;--";
      const email = `o'brien-${Date.now()}@example.test`;
      const reg = await app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: { email, password: "' OR '1'='1", name },
      });
      assert.equal(reg.statusCode, 201);
      const stored = await app.db
        .selectFrom('users')
        .select(['name', 'email'])
        .where('id', '=', reg.json().user.id)
        .executeTakeFirstOrThrow();
      assert.deepEqual(stored, { name, email });
      const login = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: "' OR '1'='1" },
      });
      assert.equal(login.statusCode, 200);
      await refused(
        { method: 'POST', url: '/v1/auth/login', payload: { email: "' OR 1=1 --", password: 'x' } },
        400,
        'VALIDATION_FAILED',
      );
      const wrong = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email, password: "anything' OR '1'='1" },
      });
      assert.equal(wrong.statusCode, 401);
      const admin = await makeUser(app, 'admin');
      const search = await app.inject({
        url: `/v1/admin/users?q=${encodeURIComponent("%' OR 1=1 --")}`,
        headers: admin.auth,
      });
      assert.equal(search.statusCode, 200);
      assert.deepEqual(search.json().items, []);
      const literal = await app.inject({
        url: `/v1/admin/users?q=${encodeURIComponent("Robert'); DROP")}`,
        headers: admin.auth,
      });
      assert.deepEqual(
        literal.json().items.map((u: { name: string }) => u.name),
        [name],
      );
    });

    test('an unexpected failure answers 500 INTERNAL without internals', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      await sql`alter table audit_log rename to audit_log_hidden`.execute(app.db);
      try {
        const res = await app.inject({ url: '/v1/admin/audit', headers: admin.auth });
        const body = assertError(res, 500, 'INTERNAL');
        assert.doesNotMatch(res.body, /audit_log|relation|select/i);
        assert.equal(body.details, undefined);
      } finally {
        await sql`alter table audit_log_hidden rename to audit_log`.execute(app.db);
      }
    });
  });
}
