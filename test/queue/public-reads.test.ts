// The public reads every phone and lobby screen polls (the guest snapshot, /track) answer from memory per
// queue version: never older than a change this instance made, and another instance's change as soon as its
// announcement arrives. Their security headers and their rate limit stay on that fast path.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import { TrackViewSchema } from '../../src/modules/queue/queue.schema.js';
import { FLUSH_MS } from '../../src/plugins/rate-limit-store.js';
import { buildSiblingApp, buildTestApp } from '../helpers/app.js';
import { skipWithout } from '../helpers/services.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { type QueueFixture, queueFixture, storeSetups } from './ops.fixtures.js';

const NOW = '2026-03-10T04:00:00Z'; // 10:00 in Dhaka
const TRACK_LIMIT = 600;

function guestSnapshot(app: FastifyInstance, f: QueueFixture) {
  return app.inject({ url: `/v1/queues/${f.queueId}` });
}

function track(app: FastifyInstance, f: QueueFixture, i: number, address = '10.9.0.1') {
  return app.inject({ url: `/v1/track/${f.patients[i].trackingToken}`, remoteAddress: address });
}

function callNext(app: FastifyInstance, f: QueueFixture) {
  return app.inject({ method: 'POST', url: `/v1/queues/${f.queueId}/call-next`, headers: f.staff.auth });
}

const lineOf = (body: { entries: { serial: number; status: string; position: number | null }[] }) =>
  body.entries.map((e) => [e.serial, e.status, e.position]);

function assertLimited(res: Awaited<ReturnType<typeof track>>) {
  assert.equal(res.statusCode, 429, res.body);
  const body = res.json();
  assert.equal(body.code, 'RATE_LIMITED');
  assert.equal(body.statusCode, 429);
  assert.ok(Number(res.headers['retry-after']) > 0, `Retry-After ${res.headers['retry-after']}`);
}

for (const setup of await storeSetups()) {
  describe(`public reads (${setup.name})`, () => {
    const build = async (t: TestContext) => {
      const { app } = await buildTestApp(t, {
        backend: setup.backend,
        redis: setup.redis,
        clock: new ManualClock(NOW),
      });
      return { app, f: await queueFixture(app, { count: 3 }) };
    };

    test('after each change the guest snapshot and /track answer its version, never the one before', async (t) => {
      const { app, f } = await build(t);
      const first = await guestSnapshot(app, f);
      assert.equal(first.statusCode, 200, first.body);
      assert.match(String(first.headers['content-type']), /^application\/json/);
      const version = first.json().version;
      assert.equal(first.headers.etag, `"${version}"`);
      assert.deepEqual(lineOf(first.json()), [
        [1, 'booked', 0],
        [2, 'booked', 1],
        [3, 'booked', 2],
      ]);
      assert.equal((await guestSnapshot(app, f)).body, first.body, 'the same version answers the same text');
      assert.equal((await track(app, f, 2)).json().position, 2);

      assert.equal((await callNext(app, f)).statusCode, 200);
      const second = await guestSnapshot(app, f);
      assert.equal(second.json().version, version + 1);
      assert.equal(second.headers.etag, `"${version + 1}"`);
      assert.deepEqual(lineOf(second.json()), [
        [2, 'booked', 0],
        [3, 'booked', 1],
        [1, 'called', null],
      ]);
      const tracked = (await track(app, f, 2)).json();
      assert.equal(tracked.version, version + 1);
      assert.equal(tracked.position, 1);
      assert.equal(tracked.nowServing, 1);

      assert.equal((await callNext(app, f)).statusCode, 200);
      assert.equal((await guestSnapshot(app, f)).json().nowServing, 2);
      assert.equal((await track(app, f, 2)).json().position, 0);
      const done = (await track(app, f, 0)).json();
      assert.equal(done.status, 'completed');
      assert.deepEqual([done.position, done.etaAt, done.etaRange], [null, null, null]);
      assert.deepEqual(Object.keys(done).sort(), Object.keys(TrackViewSchema.properties).sort());
    });

    test('the fast paths send the security headers and CORS like every other answer', async (t) => {
      const { app, f } = await build(t);
      const origin = 'https://clinic.example';
      const answers = [
        await app.inject({ url: `/v1/queues/${f.queueId}`, headers: { origin } }),
        await app.inject({ url: `/v1/track/${f.patients[0].trackingToken}`, headers: { origin } }),
        await app.inject({ url: '/v1/queues/00000000-0000-0000-0000-000000000000', headers: { origin } }),
      ];
      assert.deepEqual(
        answers.map((res) => res.statusCode),
        [200, 200, 404],
      );
      for (const res of answers) {
        const csp = String(res.headers['content-security-policy']);
        assert.match(csp, /default-src 'self'/);
        assert.match(csp, /connect-src 'self' ws: wss:/);
        assert.match(String(res.headers['strict-transport-security']), /max-age=\d+/);
        assert.equal(res.headers['x-frame-options'], 'SAMEORIGIN');
        assert.equal(res.headers['x-content-type-options'], 'nosniff');
        assert.equal(res.headers['cross-origin-opener-policy'], 'same-origin');
        assert.equal(res.headers['referrer-policy'], 'no-referrer');
        // The embedded mode allows any origin; with DATABASE_URL only the server's own.
        assert.equal(
          res.headers['access-control-allow-origin'],
          setup.backend === 'pglite' ? '*' : undefined,
        );
      }
    });

    test(`/track answers 429 RATE_LIMITED past ${TRACK_LIMIT} a minute from one address; others go on`, async (t) => {
      const { app, f } = await build(t);
      for (let i = 0; i < TRACK_LIMIT; i++) {
        const res = await track(app, f, 0, '10.9.1.1');
        if (res.statusCode !== 200) assert.fail(`answer ${i + 1}: ${res.statusCode} ${res.body}`);
      }
      assertLimited(await track(app, f, 0, '10.9.1.1'));
      assertLimited(await track(app, f, 1, '10.9.1.1'));
      assert.equal((await track(app, f, 0, '10.9.1.2')).statusCode, 200);
    });
  });
}

describe('public reads across two instances on one Redis', {
  skip: await skipWithout('postgres', 'redis'),
}, () => {
  const build = async (t: TestContext) => {
    const first = await buildTestApp(t, { backend: 'postgres', redis: true });
    const second = await buildSiblingApp(t, first);
    // Both instances hear the version channel before the test starts, so B's answers come from its memory.
    const redis = first.app.redis;
    assert.ok(redis);
    const channel = `${first.redisPrefix}queue-versions`;
    await waitFor('both instances on the version channel', async () => {
      const [, count] = (await redis.pubsub('NUMSUB', channel)) as [string, number];
      return count === 2;
    });
    return { a: first.app, b: second, f: await queueFixture(first.app, { count: 3 }) };
  };

  test('B answers from memory until A changes the queue, then the new version and never the old again', async (t) => {
    const { a, b, f } = await build(t);
    const before = (await guestSnapshot(b, f)).json();
    assert.equal((await track(b, f, 2)).json().position, 2);
    assert.equal((await guestSnapshot(b, f)).json().version, before.version);

    assert.equal((await callNext(a, f)).statusCode, 200);
    await waitFor('B to answer the version A made', async () => {
      const seen = (await guestSnapshot(b, f)).json();
      return seen.version === before.version + 1;
    });
    for (let i = 0; i < 5; i++) {
      const seen = (await guestSnapshot(b, f)).json();
      assert.equal(seen.version, before.version + 1);
      assert.equal(seen.nowServing, 1);
      const tracked = (await track(b, f, 2)).json();
      assert.equal(tracked.version, before.version + 1);
      assert.equal(tracked.position, 1);
    }
  });

  test('the /track budget is one across instances once their counts are shared', async (t) => {
    const { a, b, f } = await build(t);
    for (const [app, n] of [
      [a, TRACK_LIMIT / 2],
      [b, TRACK_LIMIT / 2],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const res = await track(app, f, 0, '10.9.2.1');
        if (res.statusCode !== 200) assert.fail(`answer ${i + 1}: ${res.statusCode} ${res.body}`);
      }
    }
    // Each instance adds its counts to Redis and learns the other's at its next flush.
    await sleep(FLUSH_MS * 5);
    assertLimited(await track(a, f, 0, '10.9.2.1'));
    assertLimited(await track(b, f, 0, '10.9.2.1'));
    assert.equal((await track(b, f, 0, '10.9.2.2')).statusCode, 200);
  });
});
