// Redis configured (queue store and Socket.IO adapter) but unreachable: queue operations still commit in
// Postgres and answer, the adapter's failed PUBLISHes are logged instead of becoming unhandled rejections
// (close-with-grace would take those as fatal), and a real server process keeps running.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { buildApp, loggerOptions } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { buildTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { databaseBackends, hasPostgres } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { queueFixture } from './ops.fixtures.js';
import { startServer } from './servers.js';

const NOW = '2026-03-10T04:00:00Z';
const PUBLISH_FAILED = 'socket.io redis command failed';

/** A local port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Collects unhandled rejections for the rest of the test. */
function unhandledRejections(t: import('node:test').TestContext): unknown[] {
  const seen: unknown[] = [];
  const listener = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', listener);
  t.after(() => {
    process.off('unhandledRejection', listener);
  });
  return seen;
}

for (const backend of await databaseBackends()) {
  describe(`queue with Redis unreachable (${backend})`, () => {
    test('an operation commits and answers; the broadcast is logged, not an unhandled rejection', async (t) => {
      const unhandled = unhandledRejections(t);
      const lines: string[] = [];
      const stream = new Writable({
        write(chunk, _encoding, done) {
          lines.push(String(chunk));
          done();
        },
      });
      const { transport: _pretty, ...logger } = loggerOptions(
        loadConfig({ DATA_DIR: '/nonexistent', LOG_LEVEL: 'warn' }),
      ) as Record<string, unknown>;
      const { app } = await buildTestApp(t, {
        backend,
        clock: new ManualClock(NOW),
        logger: { ...logger, stream },
        env: { REDIS_URL: `redis://127.0.0.1:${await deadPort()}`, REDIS_PREFIX: 'cqt:outage:' },
      });
      const f = await queueFixture(app, { count: 3 });

      const called = await app.inject({
        method: 'POST',
        url: `/v1/queues/${f.queueId}/call-next`,
        headers: f.staff.auth,
      });
      assert.equal(called.statusCode, 200, called.body);
      assert.equal(called.json().serial, 1);
      const row = await app.db
        .selectFrom('appointments')
        .select('status')
        .where('id', '=', f.patients[0].appointmentId)
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 'called', 'committed in Postgres');

      const paused = await app.inject({
        method: 'POST',
        url: `/v1/queues/${f.queueId}/pause`,
        headers: f.doctor.auth,
        payload: { message: 'Back soon' },
      });
      assert.equal(paused.statusCode, 200, paused.body);
      const versions = await app.db
        .selectFrom('queueEvents')
        .select(['version', 'type'])
        .where('queueId', '=', f.queueId)
        .orderBy('version')
        .execute();
      assert.deepEqual(
        versions.map((v) => [v.version, v.type]),
        [
          [1, 'called'],
          [2, 'paused'],
        ],
      );

      // The adapter's PUBLISH of those broadcasts fails once ioredis gives up retrying: logged, handled.
      await waitFor(
        'the failed publish to be logged',
        () => lines.some((l) => l.includes(PUBLISH_FAILED)),
        20_000,
        25,
      );
      assert.ok(lines.some((l) => l.includes('queue projection not updated')));
      assert.deepEqual(unhandled, []);
      assert.equal((await app.inject({ url: '/health' })).statusCode, 200, 'still serving');
    });
  });
}

test('a server process with Redis unreachable keeps running after operations and exits cleanly on SIGTERM', {
  skip: (await hasPostgres()) ? false : 'needs Postgres (REQUIRE_SERVICES=1 makes this a failure)',
}, async (t) => {
  const database = await createPostgresDatabase();
  const seeder = await buildApp(
    loadConfig({
      DATABASE_URL: database.url,
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      LOG_LEVEL: 'silent',
      SEED_DEMO: 'false',
    }),
    { logger: false },
  );
  const server = await startServer({
    DATABASE_URL: database.url,
    REDIS_URL: `redis://127.0.0.1:${await deadPort()}`,
    REDIS_PREFIX: 'cqt:outage:',
  });
  t.after(async () => {
    await server.stop();
    await seeder.close();
    await database.drop();
  });
  let output = '';
  server.child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  server.child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const f = await queueFixture(seeder, { count: 3, now: new Date() });
  for (const path of ['call-next', `entries/${f.patients[0].appointmentId}/complete`, 'call-next']) {
    const res = await fetch(`${server.url}/v1/queues/${f.queueId}/${path}`, {
      method: 'POST',
      headers: f.staff.auth,
    });
    assert.equal(res.status, 200, `${path}: ${await res.text()}`);
  }
  await waitFor('the failed publish to be logged', () => output.includes(PUBLISH_FAILED), 20_000, 25);
  // Give a rejection that slipped through time to reach close-with-grace.
  await new Promise((r) => setTimeout(r, 1000));
  assert.equal(server.child.exitCode, null, `the process is still running\n${output.slice(-2000)}`);
  assert.equal((await fetch(`${server.url}/health`)).status, 200);
  const exited = new Promise<number | null>((resolve) => server.child.once('exit', (code) => resolve(code)));
  await server.stop();
  assert.equal(await exited, 0);
});
