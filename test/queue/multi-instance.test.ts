import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { io as connect } from 'socket.io-client';
import { QueueClient } from '../../client-demo/lib/queue-client.js';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { deleteRedisPrefix, hasPostgres, hasRedis, REDIS_URL } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { queueFixture } from './ops.fixtures.js';
import { startServer } from './servers.js';

const services = (await hasPostgres()) && (await hasRedis());

test('watchers on instance B see changes made through A in order without gaps; a Redis wipe mid-day loses nothing', {
  skip: services ? false : 'needs Postgres and Redis (REQUIRE_SERVICES=1 makes this a failure)',
}, async (t) => {
  const database = await createPostgresDatabase();
  const prefix = `cqt:${randomBytes(5).toString('hex')}:`;
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
  const env = { DATABASE_URL: database.url, REDIS_URL, REDIS_PREFIX: prefix };
  const servers = await Promise.all([startServer(env), startServer(env)]);
  const [a, b] = servers;
  const clients: QueueClient[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.stop()));
    await seeder.close();
    await deleteRedisPrefix(prefix);
    await database.drop();
  });

  const f = await queueFixture(seeder, { count: 8, now: new Date() });
  const staffOnB = new QueueClient({
    url: b.url,
    queueId: f.queueId,
    io: connect,
    auth: { token: f.staff.token },
  });
  const guestOnA = new QueueClient({ url: a.url, queueId: f.queueId, io: connect });
  clients.push(staffOnB, guestOnA);
  await Promise.all(clients.map((c) => c.ready()));
  const raw = connect(b.url, { transports: ['websocket'], forceNew: true, reconnection: false });
  t.after(() => {
    raw.close();
  });
  const seen: { version: number; type: string }[] = [];
  raw.on('queue:update', (u: { version: number; type: string }) => seen.push(u));
  const watched = await raw.timeout(5000).emitWithAck('queue:watch', { queueId: f.queueId });
  assert.equal(watched.ok, true);

  const call = async (base: string, path: string, body?: object, auth = f.staff.auth) => {
    const res = await fetch(`${base}/v1/queues/${f.queueId}${path}`, {
      method: 'POST',
      headers: { ...auth, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const json = (await res.json()) as { version: number };
    assert.ok(res.ok, `${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const entry = (i: number, action: string) => `/entries/${f.patients[i].appointmentId}/${action}`;
  const checkPositions = async (step: string, version: number) => {
    await waitFor(
      `${step}: v${version} on both instances`,
      () => clients.every((c) => (c.state?.version ?? -1) >= version),
      15_000,
    );
    for (const p of f.patients) {
      const res = await fetch(`${a.url}/v1/track/${p.trackingToken}`);
      const view = (await res.json()) as { position: number | null; serial: number; version: number };
      assert.equal(staffOnB.position(p.appointmentId), view.position, `${step}: serial ${view.serial} on B`);
      const guestIndex = guestOnA.state!.waiting.indexOf(view.serial);
      assert.equal(
        guestIndex === -1 ? null : guestIndex,
        view.position,
        `${step}: serial ${view.serial} on A`,
      );
    }
  };

  const steps: [string, () => Promise<{ version: number }>][] = [
    ['call-next via A', () => call(a.url, '/call-next')],
    ['check-in via A', () => call(a.url, entry(3, 'check-in'))],
    ['complete via A', () => call(a.url, entry(0, 'complete'), undefined, f.doctor.auth)],
    ['walk-in via A', () => call(a.url, '/walk-ins', { name: 'Walk In', priority: 2, reason: 'emergency' })],
    ['call-next via B', () => call(b.url, '/call-next')],
    ['call out of order via A', () => call(a.url, entry(5, 'call'), { reason: 'staff_decision' })],
    ['skip via A', () => call(a.url, entry(5, 'skip'))],
  ];
  for (const [name, step] of steps) await checkPositions(name, (await step()).version);

  // Wipe this test's Redis keys mid-day: the next read rebuilds from Postgres.
  await deleteRedisPrefix(prefix);
  const snapshot = async (base: string) => {
    const res = await fetch(`${base}/v1/queues/${f.queueId}`, { headers: f.staff.auth });
    return (await res.json()) as {
      version: number;
      entries: { serial: number; status: string; position: number | null }[];
    };
  };
  const rebuilt = await snapshot(b.url);
  // Eight changes: calling 6 out of order first completed the walk-in being served (one patient at a time).
  assert.equal(rebuilt.version, 8);
  assert.deepEqual(
    rebuilt.entries.map((e) => [e.serial, e.status, e.position]),
    [
      [2, 'booked', 0],
      [3, 'booked', 1],
      [4, 'checked_in', 2],
      [5, 'booked', 3],
      [7, 'booked', 4],
      [8, 'booked', 5],
      [6, 'skipped', null],
    ],
  );
  // Wiped again: the next operation rebuilds, applies nothing twice, and watchers catch up.
  await deleteRedisPrefix(prefix);
  const more: [string, () => Promise<{ version: number }>][] = [
    [
      'recall via B after a wipe',
      () => call(b.url, entry(5, 'recall'), { reason: 'returning_with_results' }),
    ],
    ['call-next via A', () => call(a.url, '/call-next')],
    ['no-show via B', () => call(b.url, entry(6, 'no-show'))],
  ];
  for (const [name, step] of more) await checkPositions(name, (await step()).version);

  await waitFor('all updates on B', () => seen.at(-1)?.version === 11, 15_000);
  assert.deepEqual(
    seen.map((u) => u.version),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11],
  );
  const final = await snapshot(a.url);
  assert.deepEqual(await snapshot(b.url), final);
  assert.equal(final.version, 11);
  const serials = await seeder.db
    .selectFrom('appointments')
    .select('serial')
    .where('queueId', '=', f.queueId)
    .orderBy('serial')
    .execute();
  assert.deepEqual(
    serials.map((r) => r.serial),
    [1, 2, 3, 4, 5, 6, 7, 8, 9],
  );
});
