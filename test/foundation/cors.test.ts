// CORS: '*' only in the embedded mode, same-origin only with DATABASE_URL unless CORS_ORIGINS lists others,
// and every method and header the API uses allowed in the preflight answer.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ConfigError, loadConfig } from '../../src/config.js';
import { buildTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
const HEADERS = ['authorization', 'content-type', 'idempotency-key', 'if-match'];

function preflight(
  app: FastifyInstance,
  origin: string,
  extra: { method?: string; host?: string; url?: string } = {},
) {
  return app.inject({
    method: 'OPTIONS',
    url: extra.url ?? '/v1/me',
    headers: {
      origin,
      'access-control-request-method': extra.method ?? 'PATCH',
      'access-control-request-headers': 'authorization, content-type, if-match',
      ...(extra.host ? { host: extra.host } : {}),
    },
  });
}

function listed(header: unknown): string[] {
  return String(header ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
}

describe('CORS', () => {
  test('the embedded mode answers * and allows every method and header the API uses', async (t) => {
    const { app } = await buildTestApp(t, { backend: 'pglite' });
    const res = await preflight(app, 'https://anything.example', { method: 'DELETE' });
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], '*');
    const methods = listed(res.headers['access-control-allow-methods']);
    for (const method of METHODS) assert.ok(methods.includes(method.toLowerCase()), `${method} allowed`);
    const headers = listed(res.headers['access-control-allow-headers']);
    for (const header of HEADERS) assert.ok(headers.includes(header), `${header} allowed`);
    const simple = await app.inject({ url: '/health', headers: { origin: 'https://anything.example' } });
    assert.equal(simple.headers['access-control-allow-origin'], '*');
  });

  test('with DATABASE_URL and no CORS_ORIGINS, only the server’s own origin is allowed', async (t) => {
    const { app } = await buildTestApp(t, {
      backend: 'postgres',
      env: { PUBLIC_URL: 'https://queue.clinic.example' },
    });
    for (const origin of ['https://evil.example', 'null', 'https://clinic.example.evil.example']) {
      const res = await preflight(app, origin, { host: 'clinic.example' });
      assert.equal(res.headers['access-control-allow-origin'], undefined, `${origin} is refused`);
      const get = await app.inject({ url: '/health', headers: { origin, host: 'clinic.example' } });
      assert.equal(get.headers['access-control-allow-origin'], undefined, `${origin} reads nothing`);
    }
    const own = await preflight(app, 'https://clinic.example', { host: 'clinic.example' });
    assert.equal(own.headers['access-control-allow-origin'], 'https://clinic.example');
    assert.ok(listed(own.headers['access-control-allow-methods']).includes('patch'));
    assert.match(String(own.headers.vary), /origin/i);
    const publicUrl = await preflight(app, 'https://queue.clinic.example', { host: '10.0.0.7:3000' });
    assert.equal(publicUrl.headers['access-control-allow-origin'], 'https://queue.clinic.example');
  });

  for (const backend of ['pglite', 'postgres'] as const) {
    test(`CORS_ORIGINS allows exactly the listed origins [${backend}]`, async (t) => {
      const { app } = await buildTestApp(t, {
        backend,
        env: { CORS_ORIGINS: 'https://clinic.example, https://desk.example/' },
      });
      for (const method of ['PUT', 'PATCH', 'DELETE']) {
        const res = await preflight(app, 'https://desk.example', { method });
        assert.equal(res.headers['access-control-allow-origin'], 'https://desk.example');
        assert.ok(listed(res.headers['access-control-allow-methods']).includes(method.toLowerCase()));
      }
      const other = await preflight(app, 'https://evil.example', { host: 'evil.example' });
      assert.equal(other.headers['access-control-allow-origin'], undefined);
    });
  }

  test('the default depends on DATABASE_URL, never on NODE_ENV; a malformed origin stops the start', () => {
    const secrets = { JWT_SECRET: TEST_JWT_SECRET, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY };
    for (const NODE_ENV of ['production', 'development', 'test', undefined]) {
      assert.equal(loadConfig({ ...secrets, NODE_ENV }).CORS_ORIGINS, '*');
      assert.equal(loadConfig({ ...secrets, DATABASE_URL: 'postgres://db/x', NODE_ENV }).CORS_ORIGINS, '');
    }
    assert.throws(
      () => loadConfig({ ...secrets, CORS_ORIGINS: 'clinic.example' }),
      (err: Error) => err instanceof ConfigError && err.message.startsWith('CORS_ORIGINS'),
    );
  });
});
