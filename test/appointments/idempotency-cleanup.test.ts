// Idempotency-Keys live for the 24 h replay window and are then deleted in bounded batches by a cron job.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock } from '../../src/clock.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import {
  IDEMPOTENCY_RETENTION_MS,
  purgeIdempotencyKeys,
} from '../../src/modules/appointments/appointments.idempotency.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { makeDoctor, makeHospital, makePatients, makeSession } from './fixtures.js';

// Monday 2025-06-02, 09:00 in Dhaka; bookings are for the Tuesday a week later, open all along.
const MONDAY_9AM = '2025-06-02T03:00:00Z';
const NEXT_TUESDAY = '2025-06-10';
const HOUR = 3600_000;

async function world(t: TestContext, backend: 'postgres' | 'pglite', env: Record<string, string> = {}) {
  const clock = new ManualClock(MONDAY_9AM);
  const { app } = await buildTestApp(t, { backend, clock, env });
  const hospitalId = await makeHospital(app);
  const doctor = await makeDoctor(app);
  const sessionId = await makeSession(app, { doctorId: doctor.doctorId, hospitalId, weekday: 2 });
  const [patient, other] = await makePatients(app, 2);
  const book = (who: { auth: { authorization: string } }, key: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/appointments',
      headers: { ...who.auth, 'idempotency-key': key },
      payload: { sessionId, date: NEXT_TUESDAY },
    });
  const keys = async () =>
    (await app.db.selectFrom('idempotencyKeys').select('key').orderBy('key').execute()).map((r) => r.key);
  const purge = (options?: Parameters<typeof purgeIdempotencyKeys>[1]) =>
    purgeIdempotencyKeys({ db: app.db, clock }, options);
  return { app, clock, patient, other, book, keys, purge };
}

/** Keys written straight to the table, `ageHours` old by the clock. */
async function insertKeys(
  w: Awaited<ReturnType<typeof world>>,
  prefix: string,
  count: number,
  ageHours: number,
) {
  const createdAt = new Date(w.clock.now().getTime() - ageHours * HOUR);
  await w.app.db
    .insertInto('idempotencyKeys')
    .values(
      Array.from({ length: count }, (_, i) => ({
        userId: w.patient.id,
        key: `${prefix}-${i}`,
        requestHash: 'h',
        statusCode: 201,
        response: JSON.stringify(null),
        createdAt,
      })),
    )
    .execute();
}

test('the replay window is 24 hours', () => {
  assert.equal(IDEMPOTENCY_RETENTION_MS, 24 * HOUR);
});

test('IDEMPOTENCY_CLEANUP_CRON defaults to a valid schedule and a bad one is refused by name', () => {
  const base = { JWT_SECRET: 's'.repeat(40), ENCRYPTION_KEY: 'ab'.repeat(32), DATA_DIR: '/nonexistent-dir' };
  assert.equal(loadConfig(base).IDEMPOTENCY_CLEANUP_CRON, '*/15 * * * *');
  assert.throws(
    () => loadConfig({ ...base, IDEMPOTENCY_CLEANUP_CRON: 'hourly' }),
    (err) => err instanceof ConfigError && /^IDEMPOTENCY_CLEANUP_CRON: /.test(err.message),
  );
});

for (const backend of await databaseBackends()) {
  describe(`Idempotency-Key cleanup [${backend}]`, () => {
    test('a key older than 24 h is deleted, a fresher one is kept and still replays', async (t) => {
      const w = await world(t, backend);
      const old = await w.book(w.patient, 'old');
      assert.equal(old.statusCode, 201, old.body);
      w.clock.advance(12 * HOUR);
      const fresh = await w.book(w.other, 'fresh');
      assert.equal(fresh.statusCode, 201, fresh.body);

      w.clock.advance(11 * HOUR);
      assert.deepEqual(await w.purge(), { status: 'idle', deleted: 0, batches: 1 });
      const oldRetry = await w.book(w.patient, 'old');
      assert.equal(oldRetry.statusCode, 201, 'a 23 h old key still replays');
      assert.deepEqual(oldRetry.json(), old.json());

      w.clock.advance(2 * HOUR);
      assert.deepEqual(await w.purge(), { status: 'purged', deleted: 1, batches: 1 });
      assert.deepEqual(await w.keys(), ['fresh']);
      const freshRetry = await w.book(w.other, 'fresh');
      assert.equal(freshRetry.statusCode, 201);
      assert.deepEqual(freshRetry.json(), fresh.json());

      // Past the window the key is forgotten: the same request is a new booking, refused as a duplicate.
      const late = await w.book(w.patient, 'old');
      assert.equal(late.statusCode, 409);
      assert.equal(late.json().code, 'ALREADY_BOOKED');
      const rows = await w.app.db.selectFrom('appointments').select('id').execute();
      assert.equal(rows.length, 2);
    });

    test('a backlog goes in batches of the given size, at most maxBatches per run', async (t) => {
      const w = await world(t, backend);
      await insertKeys(w, 'stale', 5, 30);
      await insertKeys(w, 'recent', 2, 23);
      assert.deepEqual(await w.purge({ batchSize: 2, maxBatches: 2 }), {
        status: 'purged',
        deleted: 4,
        batches: 2,
      });
      assert.equal((await w.keys()).filter((k) => k.startsWith('stale')).length, 1);
      assert.deepEqual(await w.purge({ batchSize: 2, maxBatches: 2 }), {
        status: 'purged',
        deleted: 1,
        batches: 1,
      });
      assert.deepEqual(await w.purge({ batchSize: 2 }), { status: 'idle', deleted: 0, batches: 1 });
      assert.deepEqual(await w.keys(), ['recent-0', 'recent-1']);
    });

    test('the cron job deletes expired keys on its schedule', async (t) => {
      const w = await world(t, backend, { IDEMPOTENCY_CLEANUP_CRON: '* * * * * *' });
      await insertKeys(w, 'stale', 3, 25);
      await insertKeys(w, 'recent', 1, 1);
      const deadline = Date.now() + 10_000;
      while ((await w.keys()).length > 1 && Date.now() < deadline) await sleep(100);
      assert.deepEqual(await w.keys(), ['recent-0']);
    });
  });
}
