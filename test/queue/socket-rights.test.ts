// Open sockets keep only the rights their account has now: a disabled account, a changed role or hospital
// and an expired access token drop names and hospital alerts without a reconnect (also across instances),
// `auth:refresh` renews, and guests' queue:update never carries an appointment id.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { io as connect, type Socket } from 'socket.io-client';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { buildTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { databaseBackends, hasPostgres, hasRedis, REDIS_URL } from '../helpers/services.js';
import { queueFixture } from './ops.fixtures.js';

/** Deletes this run's keys (the shared helper is moving between test/helpers files). */
async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

type AckResult = { ok?: true; error?: { code: string; message: string }; [k: string]: unknown };
type Update = { queueId: string; version: number; type: string; appointmentId?: string };

async function setups() {
  const list: { name: string; backend: 'pglite' | 'postgres'; redis: boolean }[] = [];
  for (const backend of await databaseBackends()) {
    if (backend === 'pglite') list.push({ name: 'pglite + memory store', backend, redis: false });
    else if (await hasRedis())
      list.push({ name: 'postgres + redis store and adapter', backend, redis: true });
    else list.push({ name: 'postgres + memory store', backend, redis: false });
  }
  return list;
}

async function waitFor(what: string, check: () => boolean, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A connected socket that records what it receives. */
async function watcher(t: TestContext, url: string, auth: Record<string, unknown> = {}) {
  const socket: Socket = connect(url, {
    transports: ['websocket'],
    auth,
    reconnection: false,
    forceNew: true,
  });
  t.after(() => {
    socket.close();
  });
  const updates: Update[] = [];
  const notices: unknown[] = [];
  const changes: { reason: string; role: string | null }[] = [];
  socket.on('queue:update', (u: Update) => updates.push(u));
  socket.on('doctor:notice', (n: unknown) => notices.push(n));
  socket.on('auth:changed', (c: { reason: string; role: string | null }) => changes.push(c));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  return { socket, updates, notices, changes };
}

function ack(socket: Socket, event: string, payload?: unknown): Promise<AckResult> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<AckResult>;
}

const names = (snap: AckResult) => (snap.entries as { name?: string }[]).map((e) => e.name);

function post(app: FastifyInstance, auth: { authorization: string }, url: string, body?: object) {
  return app.inject({ method: 'POST', url, headers: auth, payload: body });
}

for (const setup of await setups()) {
  describe(`socket rights follow the account (${setup.name})`, () => {
    const start = async (t: TestContext, clock = new ManualClock('2026-03-10T04:00:00Z')) => {
      const { app } = await buildTestApp(t, { backend: setup.backend, redis: setup.redis, clock });
      const f = await queueFixture(app, { count: 4 });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      return { app, f, url, clock };
    };

    test('a disabled account loses names and hospital alerts without reconnecting', async (t) => {
      const { app, f, url } = await start(t);
      const desk = await watcher(t, url, { token: f.staff.token });
      const alerts = await watcher(t, url, { token: f.staff.token });
      assert.deepEqual(names(await ack(desk.socket, 'queue:watch', { queueId: f.queueId })), [
        ...f.patients.map((p) => p.name),
      ]);
      assert.equal((await ack(alerts.socket, 'hospital:watch', { hospitalId: f.hospitalId })).ok, true);

      const res = await app.inject({
        method: 'PATCH',
        url: `/v1/admin/users/${f.staff.id}`,
        headers: f.admin.auth,
        payload: { disabled: true },
      });
      assert.equal(res.statusCode, 200);
      await waitFor('both sockets told', () => desk.changes.length === 1 && alerts.changes.length === 1);
      assert.deepEqual(desk.changes[0], { reason: 'disabled', role: null });
      assert.ok(desk.socket.connected && alerts.socket.connected, 'the sockets stay open as guests');

      assert.equal((await post(app, f.doctor.auth, `/v1/queues/${f.queueId}/call-next`)).statusCode, 200);
      await waitFor('the update', () => desk.updates.some((u) => u.type === 'called'));
      assert.ok(
        desk.updates.every((u) => u.appointmentId === undefined),
        'a guest update has no appointment id',
      );
      assert.equal((await post(app, f.doctor.auth, `/v1/queues/${f.queueId}/pause`, {})).statusCode, 200);
      await waitFor('the queue watcher’s notice', () => desk.notices.length === 1);
      assert.equal(alerts.notices.length, 0, 'no hospital alerts after the account was disabled');

      const again = await ack(desk.socket, 'queue:watch', { queueId: f.queueId });
      assert.equal(again.ok, true);
      assert.ok(
        names(again).every((n) => n === undefined),
        'the snapshot is a guest one',
      );
      assert.equal(
        (await ack(alerts.socket, 'hospital:watch', { hospitalId: f.hospitalId })).error?.code,
        'FORBIDDEN',
      );
    });

    test('a role or hospital change drops the rights the account no longer has', async (t) => {
      const { app, f, url } = await start(t);
      const changes = [
        { body: { role: 'doctor' }, role: 'doctor' },
        { body: { hospitalId: f.otherHospitalId }, role: 'staff' },
      ];
      for (const change of changes) {
        // A fresh staff member of the queue's hospital for each change.
        const res = await app.inject({
          method: 'POST',
          url: '/v1/admin/users',
          headers: f.admin.auth,
          payload: {
            email: `desk-${randomBytes(4).toString('hex')}@example.test`,
            password: 'a long desk passphrase 42',
            name: 'Desk Person',
            role: 'staff',
            hospitalId: f.hospitalId,
          },
        });
        assert.equal(res.statusCode, 201, res.body);
        const staffId = res.json().id as string;
        const token = app.signAccessToken({ id: staffId, role: 'staff' });
        const desk = await watcher(t, url, { token });
        const watched = names(await ack(desk.socket, 'queue:watch', { queueId: f.queueId }));
        assert.ok(watched.includes(f.patients[3].name), 'staff see names');
        assert.equal((await ack(desk.socket, 'hospital:watch', { hospitalId: f.hospitalId })).ok, true);

        const patched = await app.inject({
          method: 'PATCH',
          url: `/v1/admin/users/${staffId}`,
          headers: f.admin.auth,
          payload: change.body,
        });
        assert.equal(patched.statusCode, 200, patched.body);
        await waitFor('the change', () => desk.changes.length === 1);
        assert.deepEqual(desk.changes[0], { reason: 'changed', role: change.role });

        const before = desk.updates.length;
        assert.equal((await post(app, f.doctor.auth, `/v1/queues/${f.queueId}/call-next`)).statusCode, 200);
        // Call-next may end the visit in progress too: every update after the change is a guest one.
        await waitFor('the update', () => desk.updates.some((u, i) => i >= before && u.type === 'called'));
        assert.ok(desk.updates.slice(before).every((u) => u.appointmentId === undefined));
        assert.ok(names(await ack(desk.socket, 'queue:watch', { queueId: f.queueId })).every((n) => !n));
        assert.equal(
          (await ack(desk.socket, 'hospital:watch', { hospitalId: f.hospitalId })).error?.code,
          'FORBIDDEN',
        );
      }
    });

    test('an expired access token falls back to the guest view; auth:refresh renews it', async (t) => {
      // The tokens are signed on the wall clock; the test clock starts on it and then moves past expiry.
      const { app, f, url, clock } = await start(t, new ManualClock(new Date()));
      const desk = await watcher(t, url, { token: f.staff.token });
      const alerts = await watcher(t, url, { token: f.staff.token });
      assert.equal(
        names(await ack(desk.socket, 'queue:watch', { queueId: f.queueId }))[0],
        f.patients[0].name,
      );
      assert.equal((await ack(alerts.socket, 'hospital:watch', { hospitalId: f.hospitalId })).ok, true);

      clock.advance(16 * 60_000);
      await waitFor('expiry', () => desk.changes.length === 1 && alerts.changes.length === 1);
      assert.deepEqual(desk.changes[0], { reason: 'expired', role: null });
      assert.equal((await post(app, f.doctor.auth, `/v1/queues/${f.queueId}/call-next`)).statusCode, 200);
      await waitFor('the update', () => desk.updates.some((u) => u.type === 'called'));
      assert.ok(desk.updates.every((u) => u.appointmentId === undefined));
      assert.equal((await post(app, f.doctor.auth, `/v1/queues/${f.queueId}/pause`, {})).statusCode, 200);
      await waitFor('the queue watcher’s notice', () => desk.notices.length === 1);
      assert.equal(alerts.notices.length, 0);
      assert.equal(
        (await ack(alerts.socket, 'hospital:watch', { hospitalId: f.hospitalId })).error?.code,
        'FORBIDDEN',
      );

      // A renewed token (signed now, on the wall clock the test clock returns to) brings the rights back.
      clock.set(new Date());
      const fresh = app.signAccessToken({ id: f.staff.id, role: 'staff' });
      assert.equal(
        (await ack(desk.socket, 'auth:refresh', { token: 'not-a-jwt' })).error?.code,
        'UNAUTHENTICATED',
      );
      const renewed = await ack(desk.socket, 'auth:refresh', { token: fresh });
      assert.equal(renewed.ok, true);
      assert.equal(renewed.role, 'staff');
      const restored = names(await ack(desk.socket, 'queue:watch', { queueId: f.queueId }));
      assert.ok(restored.includes(f.patients[1].name), 'names are back');
      assert.equal((await post(app, f.doctor.auth, `/v1/queues/${f.queueId}/resume`)).statusCode, 200);
      assert.equal((await post(app, f.doctor.auth, `/v1/queues/${f.queueId}/call-next`)).statusCode, 200);
      await waitFor('the staff update', () =>
        desk.updates.some((u) => u.type === 'called' && u.appointmentId),
      );
    });

    test('guests, patients and tracking links get queue:update without appointmentId; staff and the doctor with it', async (t) => {
      const { app, f, url } = await start(t);
      const [first] = f.patients;
      const viewers = {
        guest: await watcher(t, url),
        tracker: await watcher(t, url, { trackingToken: first.trackingToken }),
        patient: await watcher(t, url, { token: first.token }),
        staff: await watcher(t, url, { token: f.staff.token }),
        doctor: await watcher(t, url, { token: f.doctor.token }),
        otherStaff: await watcher(t, url, { token: f.otherStaff.token }),
      };
      for (const v of Object.values(viewers))
        assert.equal((await ack(v.socket, 'queue:watch', { queueId: f.queueId })).ok, true);
      const res = await post(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      assert.equal(res.statusCode, 200);
      const { version } = res.json() as { version: number };
      await waitFor('every watcher’s update', () =>
        Object.values(viewers).every((v) => v.updates.some((u) => u.version === version)),
      );
      await new Promise((r) => setTimeout(r, 100));
      for (const [who, v] of Object.entries(viewers)) {
        const got = v.updates.filter((u) => u.version === version);
        assert.equal(got.length, 1, `${who} got the change once`);
        const privileged = who === 'staff' || who === 'doctor';
        assert.equal(got[0].appointmentId, privileged ? first.appointmentId : undefined, who);
        assert.equal('appointmentId' in got[0], privileged, who);
      }
    });
  });
}

const services = (await hasPostgres()) && (await hasRedis());

test('an account disabled through one instance loses its names on the other without reconnecting', {
  skip: services ? false : 'needs Postgres and Redis (REQUIRE_SERVICES=1 makes this a failure)',
}, async (t) => {
  const database = await createPostgresDatabase();
  const prefix = `cqt:${randomBytes(5).toString('hex')}:`;
  const config = loadConfig({
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_PREFIX: prefix,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    SEED_DEMO: 'false',
    NOTIFY_CRON: 'false',
  });
  const a = await buildApp(config, { logger: false });
  const b = await buildApp(config, { logger: false });
  t.after(async () => {
    await a.close();
    await b.close();
    await deleteRedisPrefix(prefix);
    await database.drop();
  });
  const f = await queueFixture(a, { count: 3, now: new Date() });
  await b.listen({ port: 0, host: '127.0.0.1' });
  const desk = await watcher(t, `http://127.0.0.1:${(b.server.address() as { port: number }).port}`, {
    token: f.staff.token,
  });
  assert.equal(names(await ack(desk.socket, 'queue:watch', { queueId: f.queueId }))[0], f.patients[0].name);

  const res = await a.inject({
    method: 'PATCH',
    url: `/v1/admin/users/${f.staff.id}`,
    headers: f.admin.auth,
    payload: { disabled: true },
  });
  assert.equal(res.statusCode, 200);
  await waitFor('the other instance to drop the rights', () => desk.changes.length === 1);
  assert.deepEqual(desk.changes[0], { reason: 'disabled', role: null });
  assert.equal((await post(a, f.doctor.auth, `/v1/queues/${f.queueId}/call-next`)).statusCode, 200);
  await waitFor('the update through Redis', () => desk.updates.some((u) => u.type === 'called'));
  assert.ok(desk.updates.every((u) => u.appointmentId === undefined));
});
