import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { hasPostgres } from '../helpers/services.js';
import { queueFixture } from '../queue/ops.fixtures.js';

/** The real app on its own Postgres database, opened by buildApp from the config (so the pool variables count). */
async function appWith(t: import('node:test').TestContext, env: Record<string, string>) {
  const database = await createPostgresDatabase();
  const config = loadConfig({
    DATABASE_URL: database.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_AUTH: '10000',
    SEED_DEMO: 'false',
    ...env,
  });
  const app = await buildApp(config, { logger: false });
  t.after(async () => {
    await app.close();
    await database.drop();
  });
  await app.ready();
  return app;
}

const ERROR_KEYS = new Set(['statusCode', 'code', 'error', 'message', 'details']);

function assertUnavailable(res: LightMyRequestResponse) {
  assert.equal(res.statusCode, 503, res.body);
  const body = res.json();
  for (const key of Object.keys(body)) assert.ok(ERROR_KEYS.has(key), `unexpected key ${key}`);
  assert.equal(body.statusCode, 503);
  assert.equal(body.code, 'UNAVAILABLE');
  assert.equal(body.error, 'Service Unavailable');
  assert.match(String(res.headers['retry-after']), /^\d+$/);
  assert.ok(Number(res.headers['retry-after']) >= 1);
}

async function timed(app: FastifyInstance, options: InjectOptions) {
  const started = performance.now();
  const res = await app.inject(options);
  return { res, ms: performance.now() - started };
}

async function serialsOf(app: FastifyInstance, queueId: string): Promise<number[]> {
  const rows = await app.db
    .selectFrom('appointments')
    .select('serial')
    .where('queueId', '=', queueId)
    .orderBy('serial')
    .execute();
  return rows.map((r) => r.serial);
}

const postgres = await hasPostgres();
const skip = postgres ? false : 'needs Postgres at 127.0.0.1:5432';

describe('bursts wait, overload is refused fast', { skip }, () => {
  test('200 walk-ins at once on a 2-connection pool all succeed with serials 1..200', async (t) => {
    // Two connections and 200 at once: at the old 5 s pool wait the later half answered 503.
    const app = await appWith(t, { DB_POOL_SIZE: '2' });
    const f = await queueFixture(app, { count: 0 });
    const burst = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        app.inject({
          method: 'POST',
          url: `/v1/queues/${f.queueId}/walk-ins`,
          headers: f.staff.auth,
          payload: { name: `Walk In ${i}` },
        }),
      ),
    );
    const failed = burst.filter((r) => r.statusCode !== 201).map((r) => `${r.statusCode} ${r.json().code}`);
    assert.deepEqual(failed, []);
    assert.deepEqual(
      await serialsOf(app, f.queueId),
      Array.from({ length: 200 }, (_, i) => i + 1),
    );
  });

  test('past MAX_IN_FLIGHT a request answers 503 UNAVAILABLE with Retry-After at once and changes nothing', async (t) => {
    const app = await appWith(t, { MAX_IN_FLIGHT: '4', DB_POOL_SIZE: '1' });
    const f = await queueFixture(app, { count: 0 });
    const burst = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        timed(app, {
          method: 'POST',
          url: `/v1/queues/${f.queueId}/walk-ins`,
          headers: f.staff.auth,
          payload: { name: `Walk In ${i}` },
        }),
      ),
    );
    const created = burst.filter((r) => r.res.statusCode === 201);
    const refused = burst.filter((r) => r.res.statusCode !== 201);
    assert.ok(created.length >= 4, `${created.length} created`);
    assert.ok(refused.length >= 30, `${refused.length} refused`);
    for (const { res, ms } of refused) {
      assertUnavailable(res);
      assert.ok(ms < 1000, `refused after ${ms.toFixed(0)} ms`);
    }
    // Every refused walk-in took no serial: the created ones hold 1..n exactly.
    assert.deepEqual(
      await serialsOf(app, f.queueId),
      created.map((_, i) => i + 1),
    );
    assert.equal(app.inFlight(), 0);
    // Liveness is never refused.
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  });

  test('a lagging event loop answers 503 UNAVAILABLE with Retry-After at once; /health still answers', async (t) => {
    const app = await appWith(t, { MAX_EVENT_LOOP_DELAY_MS: '20' });
    const f = await queueFixture(app, { count: 1 });
    const url = `/v1/queues/${f.queueId}`;
    const waitFor = async (done: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    };
    await waitFor(() => !app.isUnderPressure());
    assert.equal((await app.inject({ method: 'GET', url })).statusCode, 200);
    // Block the loop (3 s keeps the mean of any one-second sample above 20 ms), then wait for
    // under-pressure's next sample to see it.
    const until = Date.now() + 3000;
    while (Date.now() < until) {}
    await waitFor(() => app.memoryUsage().eventLoopDelay > 20);
    const { res, ms } = await timed(app, { method: 'GET', url });
    assertUnavailable(res);
    assert.equal(res.headers['retry-after'], '5');
    assert.ok(ms < 200, `refused after ${ms.toFixed(0)} ms`);
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
  });

  test('a pool wait that runs out answers 503 UNAVAILABLE with Retry-After after DB_POOL_WAIT_MS, not 5 s', async (t) => {
    const app = await appWith(t, { DB_POOL_SIZE: '1', DB_POOL_WAIT_MS: '300' });
    const f = await queueFixture(app, { count: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const holding = app.db.transaction().execute(async (trx) => {
      await sql`select 1`.execute(trx);
      await held;
    });
    try {
      const { res, ms } = await timed(app, {
        method: 'POST',
        url: `/v1/queues/${f.queueId}/call-next`,
        headers: f.staff.auth,
      });
      assertUnavailable(res);
      assert.ok(ms >= 250 && ms < 2000, `answered after ${ms.toFixed(0)} ms`);
    } finally {
      release();
      await holding;
    }
    const snap = await app.inject({ method: 'GET', url: `/v1/queues/${f.queueId}`, headers: f.staff.auth });
    assert.equal(snap.json().nowServing, null, 'the refused call-next changed nothing');
  });
});
