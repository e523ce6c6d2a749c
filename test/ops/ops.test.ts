import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { buildTestApp } from '../helpers/app.js';
import { captureLogs } from '../helpers/logs.js';
import { databaseBackends, POSTGRES_URL, skipWithout } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

for (const backend of await databaseBackends()) {
  describe(`ops endpoints [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('/health answers 200 and /ready reports the database', async () => {
      const { app } = shared.current;
      const health = await app.inject({ url: '/health' });
      assert.equal(health.statusCode, 200);
      assert.deepEqual(health.json(), { ok: true });
      const ready = await app.inject({ url: '/ready' });
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(ready.json(), { ready: true, checks: { postgres: true, redis: null } });
    });

    test('/metrics exposes the latency histogram by route and process metrics', async () => {
      const { app } = shared.current;
      await app.inject({ url: '/health' });
      await app.inject({ url: '/v1/me' });
      await app.inject({ url: '/v1/no-such-route-x7' });
      const res = await app.inject({ url: '/metrics' });
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /text\/plain/);
      const text = res.body;
      assert.match(text, /# TYPE http_request_duration_seconds histogram/);
      assert.match(text, /http_request_duration_seconds_bucket\{[^}]*route="\/health"[^}]*\}/);
      assert.match(text, /http_request_duration_seconds_count\{[^}]*route="\/v1\/me"[^}]*status_code="401"/);
      assert.doesNotMatch(text, /no-such-route-x7/, 'unmatched URLs do not become labels');
      assert.match(text, /process_cpu_user_seconds_total/);
      assert.match(text, /nodejs_heap_size_used_bytes/);
    });

    test('/docs serves Swagger UI and /docs/json lists the /v1 routes', async () => {
      const { app } = shared.current;
      const ui = await app.inject({ url: '/docs' });
      assert.ok([200, 302].includes(ui.statusCode));
      const page = ui.statusCode === 302 ? await app.inject({ url: String(ui.headers.location) }) : ui;
      assert.match(page.body, /swagger/i);
      const spec = await app.inject({ url: '/docs/json' });
      assert.equal(spec.statusCode, 200);
      const doc = spec.json();
      assert.match(doc.openapi, /^3\./);
      for (const path of [
        '/v1/auth/register',
        '/v1/auth/login',
        '/v1/auth/refresh',
        '/v1/auth/logout',
        '/v1/me',
        '/v1/me/dependents',
        '/v1/me/dependents/{id}',
        '/v1/admin/users',
        '/v1/admin/users/{id}',
        '/v1/admin/audit',
        '/health',
        '/ready',
      ]) {
        assert.ok(doc.paths[path], `${path} is documented`);
      }
      assert.equal(doc.paths['/metrics'], undefined);
      const login = doc.paths['/v1/auth/login'].post;
      assert.ok(login.requestBody, 'request bodies come from the route schemas');
      assert.ok(login.responses['200'] && login.responses['401'] && login.responses['429']);
    });

    test('security headers are set on API answers', async () => {
      const { app } = shared.current;
      const res = await app.inject({ url: '/health' });
      assert.equal(res.headers['x-content-type-options'], 'nosniff');
      assert.ok(res.headers['content-security-policy']);
      assert.ok(res.headers['strict-transport-security']);
      assert.ok(res.headers['x-frame-options']);
      assert.equal(res.headers['x-powered-by'], undefined);
    });
  });
}

/** Single-configuration checks run on one backend: Postgres when reachable (a clone is quicker than PGlite). */
const quick = (await databaseBackends())[0];

describe('CORS', () => {
  test('only the configured origins are allowed', async (t) => {
    const { app } = await buildTestApp(t, {
      env: { CORS_ORIGINS: 'https://clinic.example, https://desk.example' },
    });
    const preflight = (origin: string) =>
      app.inject({
        method: 'OPTIONS',
        url: '/v1/auth/login',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const allowed = await preflight('https://desk.example');
    assert.equal(allowed.headers['access-control-allow-origin'], 'https://desk.example');
    const refused = await preflight('https://evil.example');
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
  });

  test('the embedded default allows any origin', async (t) => {
    // Embedded only: with DATABASE_URL the default is same-origin (test/foundation/cors.test.ts).
    const { app } = await buildTestApp(t, { backend: 'pglite' });
    const res = await app.inject({ url: '/health', headers: { origin: 'https://anything.example' } });
    assert.ok(res.headers['access-control-allow-origin']);
  });
});

describe('logs', () => {
  test('secrets and personal data never reach the log; tracking tokens in URLs are redacted', async (t) => {
    const { logger, lines } = captureLogs();
    const { app } = await buildTestApp(t, { backend: quick, logger });
    const email = uniqueEmail('secret');
    const reg = await app.inject({
      method: 'POST',
      url: '/v1/auth/register',
      payload: { email, password: PASSWORD, name: 'Zebulon Quxley', phone: '+8801711987654' },
    });
    assert.equal(reg.statusCode, 201);
    const { accessToken, refreshToken } = reg.json();
    await app.inject({
      url: '/v1/me',
      headers: { authorization: `Bearer ${accessToken}`, 'x-request-id': 'lb-req-1234' },
    });
    await app.inject({ method: 'POST', url: '/v1/auth/refresh', payload: { refreshToken } });
    await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email, password: 'wrong-password-1' },
    });
    await app.inject({ url: '/v1/track/TRACKSECRET123?x=1' });
    await app.inject({ url: '/v1/appointments/abc?token=TOKENSECRET456' });
    await app.inject({ url: '/v1/t/SHORTSECRET789' });
    const admin = await makeUser(app, 'admin');
    await app.inject({ url: `/v1/admin/users?q=${encodeURIComponent(email)}`, headers: admin.auth });

    const log = lines.join('');
    assert.match(log, /request completed/, 'the capture works');
    assert.match(log, /\/v1\/track\/\[redacted\]/);
    assert.match(log, /"reqId":"lb-req-1234"/, 'lines carry the request id, a proxy-given one when sent');
    for (const secret of [
      email,
      encodeURIComponent(email),
      'Zebulon',
      '8801711987654',
      PASSWORD,
      'wrong-password-1',
      accessToken,
      refreshToken,
      admin.token,
      'TRACKSECRET123',
      'TOKENSECRET456',
      'SHORTSECRET789',
    ]) {
      assert.ok(!log.includes(secret), `the log does not contain ${secret.slice(0, 12)}…`);
    }
  });
});

describe('Postgres down', { skip: await skipWithout('postgres') }, () => {
  test('/ready answers 503 UNAVAILABLE and the API answers 503, not 500, and both recover', async (t) => {
    const { app, databaseUrl } = await buildTestApp(t, { backend: 'postgres' });
    const patient = await makeUser(app, 'patient');
    const name = new URL(databaseUrl as string).pathname.slice(1);
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    t.after(() => admin.end());
    // Renaming the database away makes it unreachable (connections terminated, new ones refused) and lets
    // the test bring it back.
    await admin.query(`alter database "${name}" allow_connections false`);
    await admin.query('select pg_terminate_backend(pid) from pg_stat_activity where datname = $1', [name]);
    await admin.query(`alter database "${name}" rename to "${name}_away"`);
    try {
      const ready = await app.inject({ url: '/ready' });
      assert.equal(ready.statusCode, 503);
      assert.equal(ready.json().code, 'UNAVAILABLE');
      assert.equal(ready.json().details.postgres, false);
      const me = await app.inject({ url: '/v1/me', headers: patient.auth });
      assert.equal(me.statusCode, 503);
      assert.equal(me.json().code, 'UNAVAILABLE');
      const login = await app.inject({
        method: 'POST',
        url: '/v1/auth/login',
        payload: { email: patient.email, password: PASSWORD },
      });
      assert.equal(login.statusCode, 503);
      assert.doesNotMatch(login.body, /database|does not exist|cq_t_/i, 'no internals');
      assert.equal((await app.inject({ url: '/health' })).statusCode, 200, 'alive, though not ready');
    } finally {
      await admin.query(`alter database "${name}_away" rename to "${name}"`);
      await admin.query(`alter database "${name}" allow_connections true`);
    }
    assert.equal((await app.inject({ url: '/ready' })).statusCode, 200, 'back by itself');
    assert.equal((await app.inject({ url: '/v1/me', headers: patient.auth })).statusCode, 200);
  });
});

describe('Redis configured but unreachable', () => {
  test('/ready answers 503 naming redis, while sign-in still works', async (t) => {
    const { app } = await buildTestApp(t, { backend: quick, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    const ready = await app.inject({ url: '/ready' });
    assert.equal(ready.statusCode, 503);
    assert.equal(ready.json().code, 'UNAVAILABLE');
    assert.deepEqual(ready.json().details, { postgres: true, redis: false });
    const login = await app.inject({
      method: 'POST',
      url: '/v1/auth/login',
      payload: { email: 'nobody@example.test', password: 'whatever-it-is' },
    });
    assert.equal(login.statusCode, 401, 'rate limiting fails open rather than failing the request');
  });
});
