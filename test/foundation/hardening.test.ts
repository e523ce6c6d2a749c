// Bad input that used to reach Postgres or Fastify's own answers: NUL bytes, multipart without a boundary,
// over-long path parameters and URLs. Every refusal keeps the documented error shape and changes nothing.
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { findNul, NUL_MESSAGE } from '../../src/lib/validator.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

const ALLOWED_KEYS = new Set(['statusCode', 'code', 'error', 'message', 'details']);

function assertShape(status: number, code: string, body: Record<string, unknown>, raw: string) {
  for (const key of Object.keys(body)) assert.ok(ALLOWED_KEYS.has(key), `unexpected key ${key}`);
  assert.equal(body.statusCode, status);
  assert.equal(body.code, code);
  assert.equal(typeof body.error, 'string');
  assert.equal(typeof body.message, 'string');
  assert.doesNotMatch(raw, /FST_|\bat .+:\d+:\d+|node_modules|stack/i, 'no framework code or stack trace');
}

function assertError(res: LightMyRequestResponse, status: number, code: string) {
  assert.equal(res.statusCode, status, res.body);
  assert.match(String(res.headers['content-type']), /application\/json/);
  const body = res.json();
  assertShape(status, code, body, res.body);
  return body as { message: string; details?: { field: string; message: string }[] };
}

function nulField(res: LightMyRequestResponse, field: string) {
  const body = assertError(res, 400, 'VALIDATION_FAILED');
  assert.deepEqual(body.details, [{ field, message: NUL_MESSAGE }]);
}

async function counts(app: FastifyInstance): Promise<string> {
  const { rows } = await sql<{ t: string; n: number }>`
    select 'users' as t, count(*)::int as n from users
    union all select 'doctors', count(*)::int from doctors
    union all select 'hospitals', count(*)::int from hospitals
    union all select 'audit_log', count(*)::int from audit_log`.execute(app.db);
  return JSON.stringify(rows);
}

describe('findNul', () => {
  test('finds a NUL in values and keys at any depth, and nothing in clean input', () => {
    assert.equal(findNul({ a: ['x', { b: 'y\u0000' }] }), '/a/1/b');
    assert.equal(findNul({ 'k\u0000': 1 }), '/k\\0');
    assert.equal(findNul('\u0000'), '');
    assert.equal(findNul({ a: 'x', b: [1, true, null, 'ok'] }), null);
    let deep: unknown = 'end\u0000';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    assert.equal(findNul(deep)?.split('/').length, 100_001, 'iterative: no stack overflow');
  });
});

for (const backend of await databaseBackends()) {
  describe(`bad input [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('a NUL byte in a guest search query answers 400 naming the field', async () => {
      const { app } = shared.current;
      nulField(await app.inject({ url: '/v1/doctors?q=Ra%00hman' }), 'querystring.q');
      nulField(await app.inject({ url: '/v1/hospitals?city=Dh%00aka' }), 'querystring.city');
      // The same query without the NUL is fine.
      assert.equal((await app.inject({ url: '/v1/doctors?q=Rahman' })).statusCode, 200);
    });

    test('a NUL byte in a path parameter answers 400', async () => {
      const { app } = shared.current;
      nulField(await app.inject({ url: `/v1/track/${'a'.repeat(20)}%00` }), 'params.trackingToken');
    });

    test('a NUL byte in any body string, nested or not, answers 400 and stores nothing', async () => {
      const { app } = shared.current;
      const before = await counts(app);
      const register = (extra: Record<string, unknown>) =>
        app.inject({
          method: 'POST',
          url: '/v1/auth/register',
          payload: { email: uniqueEmail(), password: PASSWORD, name: 'Rahim', ...extra },
        });
      nulField(await register({ name: 'Ra\u0000him' }), 'body.name');
      nulField(await register({ password: `${PASSWORD}\u0000` }), 'body.password');
      nulField(await register({ phone: '+8801711\u0000123456' }), 'body.phone');
      assert.equal(await counts(app), before, 'nothing was stored');

      const doctor = await makeUser(app, 'doctor');
      const patch = (payload: Record<string, unknown>) =>
        app.inject({ method: 'PATCH', url: `/v1/doctors/${doctor.doctorId}`, headers: doctor.auth, payload });
      nulField(await patch({ bio: 'Cardiologist\u0000' }), 'body.bio');
      const profile = await app.inject({ url: `/v1/doctors/${doctor.doctorId}`, headers: doctor.auth });
      assert.notEqual(profile.json().bio, 'Cardiologist', 'the bio is unchanged');
      assert.equal((await patch({ bio: 'Cardiologist' })).statusCode, 200, 'the clean edit passes');

      const admin = await makeUser(app, 'admin');
      const hospitals = await counts(app);
      const created = await app.inject({
        method: 'POST',
        url: '/v1/hospitals',
        headers: admin.auth,
        payload: { name: 'Green Life', city: 'Dhaka', timezone: 'Asia/Dhaka', address: 'Road 1\u0000' },
      });
      nulField(created, 'body.address');
      assert.equal(await counts(app), hospitals);
    });

    test('multipart/form-data without a boundary on the photo upload answers 400 and stores nothing', async () => {
      const { app } = shared.current;
      const doctor = await makeUser(app, 'doctor');
      const url = `/v1/doctors/${doctor.doctorId}/photo`;
      const noBoundary = await app.inject({
        method: 'POST',
        url,
        headers: { ...doctor.auth, 'content-type': 'multipart/form-data' },
        payload: 'not really multipart',
      });
      assertError(noBoundary, 400, 'VALIDATION_FAILED');
      const garbage = await app.inject({
        method: 'POST',
        url,
        headers: { ...doctor.auth, 'content-type': 'multipart/form-data; boundary=xyz' },
        payload: '--xyz\r\nContent-Disposition: form-data; name="photo"; filename="a.png"\r\n',
      });
      assertError(garbage, 400, 'VALIDATION_FAILED');
      const profile = await app.inject({ url: `/v1/doctors/${doctor.doctorId}`, headers: doctor.auth });
      assert.equal(profile.json().photoUrl, null);
    });

    test('tracking tokens of any length answer the documented shape: 404, 400, then 414 URI_TOO_LONG', async () => {
      const { app } = shared.current;
      // 101–128 characters are allowed by the schema: an unknown token is simply not found.
      assertError(await app.inject({ url: `/v1/track/${'a'.repeat(110)}` }), 404, 'NOT_FOUND');
      assertError(await app.inject({ url: `/v1/track/${'a'.repeat(128)}` }), 404, 'NOT_FOUND');
      const long = assertError(
        await app.inject({ url: `/v1/track/${'a'.repeat(129)}` }),
        400,
        'VALIDATION_FAILED',
      );
      assert.deepEqual(
        long.details?.map((d) => d.field),
        ['params.trackingToken'],
      );
      const huge = 'b'.repeat(300);
      const tooLong = assertError(await app.inject({ url: `/v1/track/${huge}` }), 414, 'URI_TOO_LONG');
      assert.ok(!tooLong.message.includes(huge), 'the path is not echoed back');
      assertError(await app.inject({ url: '/v1/track/%E0%A4%A' }), 400, 'VALIDATION_FAILED');
    });
  });
}

describe('requests refused by Node’s HTTP parser', () => {
  test('a 20 KB URL answers 431 HEADERS_TOO_LARGE in the documented shape', async (t) => {
    const { app } = await buildTestApp(t);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path: `/v1/track/${'c'.repeat(20 * 1024)}`, method: 'GET' },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk) => {
            text += chunk;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 431);
    assertShape(431, 'HEADERS_TOO_LARGE', JSON.parse(body), body);
  });

  test('a request that is not valid HTTP (a NUL in a header) answers 400 VALIDATION_FAILED in the documented shape', async (t) => {
    const { app } = await buildTestApp(t);
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write('GET /health HTTP/1.1\r\nHost: x\r\nIdempotency-Key: a\u0000b\r\n\r\n');
      });
      let text = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk) => {
        text += chunk;
      });
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    const [head, body] = raw.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 400 /);
    assertShape(400, 'VALIDATION_FAILED', JSON.parse(body), body);
  });
});
