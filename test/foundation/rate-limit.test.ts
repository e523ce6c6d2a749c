import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { databaseBackends, deleteRedisPrefix, skipWithout } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { PASSWORD, uniqueEmail } from '../helpers/users.js';

const LIMIT = 3;
const env = { RATE_LIMIT_AUTH: String(LIMIT) };

function login(app: FastifyInstance, address: string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    remoteAddress: address,
    headers,
    payload: { email: 'nobody@example.test', password: 'wrong password' },
  });
}

function assertLimited(res: Awaited<ReturnType<typeof login>>) {
  assert.equal(res.statusCode, 429);
  const body = res.json();
  assert.equal(body.code, 'RATE_LIMITED');
  assert.equal(body.statusCode, 429);
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After ${res.headers['retry-after']}`);
}

/** A token with a made-up subject and a signature nobody can check: it must not buy a fresh bucket. */
function bogusBearer(): Record<string, string> {
  const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
  const body = Buffer.from(JSON.stringify({ sub: randomBytes(8).toString('hex'), typ: 'access' })).toString(
    'base64url',
  );
  const sig = createHmac('sha256', 'guess').update(`${head}.${body}`).digest('base64url');
  return { authorization: `Bearer ${head}.${body}.${sig}` };
}

for (const backend of await databaseBackends()) {
  describe(`auth rate limits, in-process [${backend}]`, () => {
    const shared = sharedTestApp({ backend, env });

    test('login is limited per address with 429 RATE_LIMITED and Retry-After', async () => {
      const { app } = shared.current;
      for (let i = 0; i < LIMIT; i++) assert.equal((await login(app, '10.1.0.1')).statusCode, 401);
      assertLimited(await login(app, '10.1.0.1'));
      assert.equal((await login(app, '10.1.0.2')).statusCode, 401, 'another address has its own budget');
    });

    test('a made-up bearer token does not escape the per-address limit', async () => {
      const { app } = shared.current;
      for (let i = 0; i < LIMIT; i++) await login(app, '10.1.1.1', bogusBearer());
      assertLimited(await login(app, '10.1.1.1', bogusBearer()));
    });

    test('register is limited, and a limited registration stores nothing', async () => {
      const { app } = shared.current;
      const attempt = (email: string) =>
        app.inject({
          method: 'POST',
          url: '/v1/auth/register',
          remoteAddress: '10.1.2.1',
          payload: { email, password: PASSWORD, name: 'Limited' },
        });
      for (let i = 0; i < LIMIT; i++) assert.equal((await attempt(uniqueEmail())).statusCode, 201);
      const email = uniqueEmail('late');
      const res = await attempt(email);
      assertLimited(res);
      const stored = await app.db.selectFrom('users').select('id').where('email', '=', email).execute();
      assert.equal(stored.length, 0);
    });

    test('refresh is limited per address', async () => {
      const { app } = shared.current;
      const refresh = () =>
        app.inject({
          method: 'POST',
          url: '/v1/auth/refresh',
          remoteAddress: '10.1.3.1',
          payload: { refreshToken: 'r'.repeat(43) },
        });
      for (let i = 0; i < LIMIT; i++) assert.equal((await refresh()).statusCode, 401);
      assertLimited(await refresh());
    });

    test('routes that are not auth routes are not held by the auth limit', async () => {
      const { app } = shared.current;
      for (let i = 0; i < LIMIT + 2; i++) {
        const res = await app.inject({ url: '/health', remoteAddress: '10.1.4.1' });
        assert.equal(res.statusCode, 200);
      }
    });
  });
}

const sharedBackend = (await databaseBackends())[0];
const redisSkip = await skipWithout('redis');
describe(`auth rate limits, shared through Redis [${sharedBackend}]`, { skip: redisSkip }, () => {
  const prefix = `cqt:rl${randomBytes(4).toString('hex')}:`;
  const first = sharedTestApp({ backend: sharedBackend, env, redis: true, redisPrefix: prefix });
  const second = sharedTestApp({ backend: sharedBackend, env, redis: true, redisPrefix: prefix });
  after(() => deleteRedisPrefix(prefix));

  test('two instances on one Redis count one address together', async () => {
    const a = first.current.app;
    const b = second.current.app;
    assert.equal((await login(a, '10.2.0.1')).statusCode, 401);
    assert.equal((await login(b, '10.2.0.1')).statusCode, 401);
    assert.equal((await login(a, '10.2.0.1')).statusCode, 401);
    assertLimited(await login(b, '10.2.0.1'));
    assertLimited(await login(a, '10.2.0.1'));
    assert.equal((await login(b, '10.2.0.2')).statusCode, 401);
  });

  test('the counters live in Redis under the configured prefix', async () => {
    const redis = first.current.app.redis;
    assert.ok(redis);
    const keys = await redis.keys(`${prefix}rl:*`);
    assert.ok(keys.length > 0, 'rate limit keys are stored under REDIS_PREFIX');
  });
});
