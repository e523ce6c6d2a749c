// One auth budget per address across sign-in, registration, refresh and password reset; wrong current
// passwords on PATCH /me limited per account. In process and through Redis (every instance counts together).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { WRONG_PASSWORD_LIMIT } from '../../src/modules/accounts/accounts.routes.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, uniqueEmail } from '../helpers/users.js';

const LIMIT = 4;

function assertLimited(res: LightMyRequestResponse, what: string) {
  assert.equal(res.statusCode, 429, `${what}: ${res.body}`);
  assert.equal(res.json().code, 'RATE_LIMITED');
  const retryAfter = Number(res.headers['retry-after']);
  assert.ok(retryAfter > 0, `Retry-After ${res.headers['retry-after']}`);
}

function post(app: FastifyInstance, url: string, address: string, payload: object) {
  return app.inject({ method: 'POST', url, remoteAddress: address, payload });
}

function changePassword(
  app: FastifyInstance,
  auth: Record<string, string>,
  current: string,
  address: string,
) {
  return app.inject({
    method: 'PATCH',
    url: '/v1/me',
    headers: auth,
    remoteAddress: address,
    payload: { password: 'a fresh and long passphrase', currentPassword: current },
  });
}

for (const redis of [false, true]) {
  describe(`auth limits [${redis ? 'redis' : 'in-process'}]`, () => {
    const shared = sharedTestApp({ redis, env: { RATE_LIMIT_AUTH: String(LIMIT) } });

    test('sign-in, registration, refresh and reset share one budget per address', async () => {
      const { app } = shared.current;
      const address = '10.9.0.1';
      const wrong = { email: 'nobody@example.test', password: 'wrong password' };
      assert.equal((await post(app, '/v1/auth/login', address, wrong)).statusCode, 401);
      assert.equal((await post(app, '/v1/auth/login', address, wrong)).statusCode, 401);
      const registered = await post(app, '/v1/auth/register', address, {
        email: uniqueEmail('budget'),
        password: PASSWORD,
        name: 'Budget Test',
      });
      assert.equal(registered.statusCode, 201);
      const refreshed = await post(app, '/v1/auth/refresh', address, {
        refreshToken: registered.json().refreshToken,
      });
      assert.equal(refreshed.statusCode, 200, 'the fourth auth request of the minute is still served');
      assertLimited(
        await post(app, '/v1/auth/login', address, wrong),
        'sign-in after two sign-ins, a registration and a refresh',
      );
      assertLimited(
        await post(app, '/v1/auth/password-reset', address, { email: 'nobody@example.test' }),
        'reset after the budget is spent',
      );
      assertLimited(
        await post(app, '/v1/auth/register', address, {
          email: uniqueEmail('late'),
          password: PASSWORD,
          name: 'Too Late',
        }),
        'registration after the budget is spent',
      );
      assert.equal(
        (await post(app, '/v1/auth/login', '10.9.0.2', wrong)).statusCode,
        401,
        'another address has a budget of its own',
      );
    });

    test('wrong current passwords on PATCH /me are limited per account, whatever the address', async () => {
      const { app } = shared.current;
      const user = await makeUser(app, 'patient');
      const other = await makeUser(app, 'patient');
      for (let i = 0; i < WRONG_PASSWORD_LIMIT; i++) {
        const res = await changePassword(app, user.auth, `guess number ${i}`, `10.9.1.${i}`);
        assert.equal(res.statusCode, 403, `guess ${i}`);
      }
      assertLimited(await changePassword(app, user.auth, 'one guess too many', '10.9.1.99'), 'next guess');
      assertLimited(
        await changePassword(app, user.auth, PASSWORD, '10.9.1.100'),
        'even the right password is refused while the account is limited',
      );
      const login = await post(app, '/v1/auth/login', '10.9.1.101', {
        email: user.email,
        password: PASSWORD,
      });
      assert.equal(login.statusCode, 200, 'the password did not change');
      const ok = await changePassword(app, other.auth, PASSWORD, '10.9.1.1');
      assert.equal(ok.statusCode, 200, 'another account is not limited');
      const rename = await app.inject({
        method: 'PATCH',
        url: '/v1/me',
        headers: user.auth,
        payload: { name: 'Still Renames' },
      });
      assert.equal(rename.statusCode, 200, 'changes that need no password are not limited');
    });
  });
}
