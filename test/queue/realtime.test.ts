import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { io as connect, type Socket } from 'socket.io-client';
import { QueueClient } from '../../client-demo/lib/queue-client.js';
import { ManualClock } from '../../src/clock.js';
import { hashToken, newOpaqueToken } from '../../src/lib/tokens.js';
import { recordQueueEvent, takeSerial as takeNextSerial } from '../../src/modules/day/day.repository.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends, hasRedis } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { waitFor } from '../helpers/wait.js';
import { type QueueFixture, queueFixture } from './ops.fixtures.js';

const NOW = '2026-03-10T04:00:00Z';

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

type AckResult = { ok?: true; error?: { code: string; message: string }; [k: string]: unknown };

function rawSocket(t: TestContext, url: string, auth: Record<string, unknown> = {}): Socket {
  const socket = connect(url, { transports: ['websocket'], auth, reconnection: false, forceNew: true });
  t.after(() => {
    socket.close();
  });
  return socket;
}

async function connected(socket: Socket): Promise<void> {
  if (socket.connected) return;
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
}

function ack(socket: Socket, event: string, payload?: unknown): Promise<AckResult> {
  return socket.timeout(5000).emitWithAck(event, payload) as Promise<AckResult>;
}

for (const setup of await setups()) {
  describe(`realtime hub (${setup.name})`, () => {
    const start = async (t: TestContext, count = 5) => {
      const clock = new ManualClock(NOW);
      const { app } = await buildTestApp(t, { backend: setup.backend, redis: setup.redis, clock });
      const f = await queueFixture(app, { count });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      return { app, f, url, clock };
    };
    const post = (
      app: FastifyInstance,
      auth: { authorization: string } | undefined,
      url: string,
      body?: object,
    ) => app.inject({ method: 'POST', url, headers: auth, payload: body });

    test('a bad token is refused at the handshake with data.code; guests and tracking links connect', async (t) => {
      const { url, f } = await start(t, 1);
      for (const auth of [{ token: 'not-a-jwt' }, { token: 42 }, { trackingToken: 'x'.repeat(40) }]) {
        const socket = rawSocket(t, url, auth);
        const err = await new Promise<Error & { data?: { code: string } }>((resolve) =>
          socket.once('connect_error', resolve),
        );
        assert.equal(err.data?.code, 'UNAUTHENTICATED');
      }
      await connected(rawSocket(t, url));
      await connected(rawSocket(t, url, { trackingToken: f.patients[0].trackingToken }));
      await connected(rawSocket(t, url, { token: f.staff.token }));
    });

    test('guests never receive names, neither in the snapshot nor in updates', async (t) => {
      const { app, url, f } = await start(t, 3);
      const guest = rawSocket(t, url);
      const seen: unknown[] = [];
      guest.onAny((_event, payload) => seen.push(payload));
      const snap = await ack(guest, 'queue:watch', { queueId: f.queueId });
      assert.equal(snap.ok, true);
      seen.push(snap);
      const staff = rawSocket(t, url, { token: f.staff.token });
      const staffSnap = await ack(staff, 'queue:watch', { queueId: f.queueId });
      assert.equal((staffSnap.entries as { name: string }[])[0].name, f.patients[0].name);
      await post(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      await post(app, f.staff.auth, `/v1/queues/${f.queueId}/walk-ins`, {
        name: 'Secret Walker',
        phone: '+8801711999999',
      });
      await waitFor('two updates', () => seen.filter((s) => (s as { type?: string }).type).length === 2);
      const text = JSON.stringify(seen);
      for (const name of [...f.patients.map((p) => p.name), 'Secret Walker', '8801711999999'])
        assert.ok(!text.includes(name), `guest saw ${name}`);
    });

    test('a patient cannot watch someone else’s appointment; the owner, a tracking link and staff can', async (t) => {
      const { app, url, f } = await start(t, 3);
      const [a, b] = f.patients;
      const socketA = rawSocket(t, url, { token: a.token });
      const refused = await ack(socketA, 'appointment:watch', { appointmentId: b.appointmentId });
      assert.equal(refused.error?.code, 'FORBIDDEN');
      const tracker = rawSocket(t, url, { trackingToken: a.trackingToken });
      assert.equal(
        (await ack(tracker, 'appointment:watch', { appointmentId: b.appointmentId })).error?.code,
        'FORBIDDEN',
      );
      const own = await ack(tracker, 'appointment:watch', { appointmentId: a.appointmentId });
      assert.equal(own.ok, true);
      assert.equal(own.position, 0);
      assert.equal(own.serial, 1);
      const ownerWatch = await ack(socketA, 'appointment:watch', { appointmentId: a.appointmentId });
      assert.equal(ownerWatch.ok, true);
      const other = rawSocket(t, url, { token: f.otherStaff.token });
      assert.equal(
        (await ack(other, 'appointment:watch', { appointmentId: a.appointmentId })).error?.code,
        'FORBIDDEN',
      );
      assert.equal(
        (await ack(other, 'hospital:watch', { hospitalId: f.hospitalId })).error?.code,
        'FORBIDDEN',
      );
      const leaked: unknown[] = [];
      socketA.on('appointment:update', (u) => leaked.push(u));
      const mine: { appointmentId: string; status: string }[] = [];
      tracker.on('appointment:update', (u) => mine.push(u));
      await post(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      await post(app, f.staff.auth, `/v1/queues/${f.queueId}/entries/${b.appointmentId}/check-in`);
      await waitFor('own update', () => mine.length > 0);
      assert.ok(mine.every((u) => u.appointmentId === a.appointmentId));
      assert.ok(leaked.every((u) => (u as { appointmentId: string }).appointmentId === a.appointmentId));
      const sockets = await app.io.in(`appointment:${b.appointmentId}`).fetchSockets();
      assert.equal(sockets.length, 0);
    });

    test('malformed payloads get error acks, join nothing and never crash; events are rate-limited', async (t) => {
      const { app, url, f } = await start(t, 1);
      const socket = rawSocket(t, url);
      const bad: [string, unknown][] = [
        ['queue:watch', undefined],
        ['queue:watch', {}],
        ['queue:watch', { queueId: 12 }],
        ['queue:watch', { queueId: 'x'.repeat(10_000) }],
        ['queue:watch', 'not-an-object'],
        ['queue:watch', { queueId: '00000000-0000-4000-8000-000000000000' }],
        ['appointment:watch', { appointmentId: ['a'] }],
        ['hospital:watch', null],
        ['queue:unwatch', { queueId: { $gt: '' } }],
        ['admin:everything', { queueId: f.queueId }],
      ];
      for (const [event, payload] of bad) {
        const result = await ack(socket, event, payload);
        assert.ok(
          result.error,
          `${event} ${JSON.stringify(payload)?.slice(0, 40)} → ${JSON.stringify(result)}`,
        );
        assert.ok(['VALIDATION_FAILED', 'NOT_FOUND', 'FORBIDDEN'].includes(result.error.code));
      }
      // Without an ack callback, and with a payload over the size limit: ignored / disconnected, no crash.
      socket.emit('queue:watch', { queueId: f.queueId });
      const [server] = await app.io.fetchSockets();
      assert.deepEqual(
        [...server.rooms].filter((r) => r.startsWith('queue:') || r.startsWith('appointment:')).length <= 1,
        true,
      );
      const huge = rawSocket(t, url);
      await connected(huge);
      const gone = new Promise((resolve) => huge.once('disconnect', resolve));
      huge.emit('queue:watch', { queueId: 'y'.repeat(100_000) }, () => {});
      await gone;
      const fresh = rawSocket(t, url);
      assert.equal((await ack(fresh, 'queue:watch', { queueId: f.queueId })).ok, true);
      const results = await Promise.all(
        Array.from({ length: 60 }, () => ack(fresh, 'queue:watch', { queueId: f.queueId })),
      );
      assert.ok(results.some((r) => r.error?.code === 'RATE_LIMITED'));
      assert.ok(results.some((r) => r.ok === true));
    });

    test('the client-derived position equals GET /track after every step; next and turn-near reach the owner once', async (t) => {
      const { app, url, f, clock } = await start(t, 6);
      const staffClient = new QueueClient({
        url,
        queueId: f.queueId,
        io: connect,
        auth: { token: f.staff.token },
      });
      const guestClient = new QueueClient({ url, queueId: f.queueId, io: connect });
      t.after(() => {
        staffClient.close();
        guestClient.close();
      });
      await Promise.all([staffClient.ready(), guestClient.ready()]);
      const first = staffClient.state!.entries.get(1)!;
      assert.deepEqual([first.kind, first.priority, first.name], ['booked', 0, f.patients[0].name]);
      const guestFirst = guestClient.state!.entries.get(1)!;
      assert.deepEqual(
        [guestFirst.kind, guestFirst.priority, guestFirst.name],
        [undefined, undefined, undefined],
      );
      const last = f.patients[5];
      const owner = rawSocket(t, url, { token: last.token });
      const ownerUpdates: {
        reason: string;
        position: number | null;
        status: string;
        seenOutOfOrder: number | null;
      }[] = [];
      owner.on('appointment:update', (u) => ownerUpdates.push(u));
      const watched = await ack(owner, 'appointment:watch', { appointmentId: last.appointmentId });
      assert.equal(watched.position, 5);
      assert.equal(watched.seenOutOfOrder, 0);

      const tracked = f.patients.map((p) => ({ id: p.appointmentId, token: p.trackingToken }));
      const q = `/v1/queues/${f.queueId}`;
      const e = (p: { id: string }, action: string) => `${q}/entries/${p.id}/${action}`;
      const steps: [string, () => Promise<{ version: number }>][] = [
        ['call-next', async () => (await post(app, f.staff.auth, `${q}/call-next`)).json()],
        ['check-in 3', async () => (await post(app, f.staff.auth, e(tracked[2], 'check-in'))).json()],
        // Those ahead of the owner arrive: call-next passes over only absent patients who are late.
        ['check-in 2', async () => (await post(app, f.staff.auth, e(tracked[1], 'check-in'))).json()],
        ['check-in 5', async () => (await post(app, f.staff.auth, e(tracked[4], 'check-in'))).json()],
        ['complete 1', async () => (await post(app, f.doctor.auth, e(tracked[0], 'complete'))).json()],
        [
          'priority walk-in',
          async () => {
            const res = await post(app, f.staff.auth, `${q}/walk-ins`, {
              name: 'Urgent',
              priority: 1,
              reason: 'emergency',
            });
            tracked.push({ id: res.json().id, token: res.json().trackingToken });
            return res.json();
          },
        ],
        ['call-next (walk-in)', async () => (await post(app, f.staff.auth, `${q}/call-next`)).json()],
        [
          'call 4 out of order',
          async () =>
            (await post(app, f.staff.auth, e(tracked[3], 'call'), { reason: 'elderly_disabled' })).json(),
        ],
        ['skip 4', async () => (await post(app, f.staff.auth, e(tracked[3], 'skip'))).json()],
        ['booking (other module path)', async () => bookDirectly(app, f, tracked)],
        ['call-next', async () => (await post(app, f.staff.auth, `${q}/call-next`)).json()],
        [
          'recall 4',
          async () =>
            (await post(app, f.staff.auth, e(tracked[3], 'recall'), { reason: 'staff_decision' })).json(),
        ],
        ['no-show 3 (waiting)', async () => (await post(app, f.staff.auth, e(tracked[2], 'no-show'))).json()],
        ['pause', async () => (await post(app, f.doctor.auth, `${q}/pause`, { message: 'Lunch' })).json()],
        ['resume', async () => (await post(app, f.doctor.auth, `${q}/resume`)).json()],
        ['call-next', async () => (await post(app, f.staff.auth, `${q}/call-next`)).json()],
        ['call-next', async () => (await post(app, f.staff.auth, `${q}/call-next`)).json()],
      ];
      for (const [name, step] of steps) {
        clock.advance(60_000);
        const { version } = await step();
        assert.ok(Number.isInteger(version), `${name} answered a version`);
        await waitFor(`${name}: clients at v${version}`, () =>
          [staffClient, guestClient].every((c) => (c.state?.version ?? -1) >= version),
        );
        if (name === 'priority walk-in') {
          // While the walk-in is in line (calling 4 out of order later completes its visit).
          await staffClient.resync();
          const urgent = [...staffClient.state!.entries.values()].find(
            (x) => x.appointmentId === tracked[6].id,
          );
          assert.deepEqual(
            [urgent?.kind, urgent?.priority],
            ['walk_in', 1],
            'kind and priority for the staff',
          );
        }
        for (const p of tracked) {
          const view = (await app.inject({ url: `/v1/track/${p.token}` })).json();
          assert.equal(
            staffClient.position(p.id),
            view.position,
            `${name}: staff client position of ${view.serial}`,
          );
          const guestIndex = guestClient.state!.waiting.indexOf(view.serial);
          assert.equal(
            guestIndex === -1 ? null : guestIndex,
            view.position,
            `${name}: guest position of ${view.serial}`,
          );
          assert.equal(view.version, version);
        }
      }
      const reasons = ownerUpdates.map((u) => `${u.reason}:${u.position}`);
      assert.ok(reasons.includes('turn_near:3'), reasons.join(','));
      assert.ok(reasons.includes('next:0'), reasons.join(','));
      // Serial 4 was called out of order while the owner waited (the emergency walk-in came by call-next).
      assert.equal(ownerUpdates.find((u) => u.reason === 'next')?.seenOutOfOrder, 1);
      // The turn-near message was written once (one row per channel), in the transaction that moved them.
      const near = await app.db
        .selectFrom('notificationOutbox')
        .select(['channel', 'payload'])
        .where('appointmentId', '=', last.appointmentId)
        .where('kind', '=', 'turn_near')
        .execute();
      assert.ok(near.length >= 1, 'a turn-near message');
      assert.equal(new Set(near.map((n) => n.channel)).size, near.length, 'once per channel');
      assert.ok(near.every((n) => (n.payload as { position?: number }).position === 3));
    });

    test('bookings and cancellations made through the booking API reach queue watchers in order', async (t) => {
      const clock = new ManualClock(NOW);
      const { app } = await buildTestApp(t, { backend: setup.backend, redis: setup.redis, clock });
      const f = await queueFixture(app, { count: 2, dateOffsetDays: 1 });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
      const client = new QueueClient({
        url,
        queueId: f.queueId,
        io: connect,
        auth: { token: f.staff.token },
      });
      t.after(() => client.close());
      await client.ready();
      const seen: { version: number; type: string; serial: number | null }[] = [];
      client.on('update', (u) => seen.push(u));
      const session = await app.db
        .selectFrom('sessionDays')
        .select('sessionId')
        .where('id', '=', f.queueId)
        .executeTakeFirstOrThrow();
      const patient = f.patients[0];
      await post(app, patient.auth, `/v1/appointments/${patient.appointmentId}/cancel`, { reason: 'travel' });
      const other = await makeUser(app, 'patient', {
        name: 'New Booker',
      });
      const booked = await post(app, other.auth, '/v1/appointments', {
        sessionId: session.sessionId,
        date: f.date,
      });
      assert.equal(booked.statusCode, 201, booked.body);
      const appointmentId = booked.json().id as string;
      await waitFor('two updates', () => seen.length === 2);
      assert.deepEqual(
        seen.map((u) => [u.version, u.type]),
        [
          [1, 'cancelled'],
          [2, 'booked'],
        ],
      );
      assert.equal(client.position(appointmentId), 1);
      const track = (await app.inject({ url: `/v1/track/${booked.json().trackingToken}` })).json();
      assert.equal(track.position, 1);
      assert.equal(track.serial, booked.json().serial);
    });

    test('pausing sends doctor:notice to the queue room and to the hospital desk', async (t) => {
      const { app, url, f } = await start(t, 1);
      const desk = rawSocket(t, url, { token: f.staff.token });
      assert.equal((await ack(desk, 'hospital:watch', { hospitalId: f.hospitalId })).ok, true);
      const tv = rawSocket(t, url);
      assert.equal((await ack(tv, 'queue:watch', { queueId: f.queueId })).ok, true);
      const notices: unknown[] = [];
      desk.on('doctor:notice', (n) => notices.push(n));
      tv.on('doctor:notice', (n) => notices.push(n));
      await post(app, f.doctor.auth, `/v1/queues/${f.queueId}/pause`, {
        message: 'Emergency surgery',
        until: '2026-03-10T05:00:00Z',
      });
      await waitFor('two notices', () => notices.length === 2);
      assert.deepEqual(notices[0], {
        queueId: f.queueId,
        message: 'Emergency surgery',
        until: '2026-03-10T05:00:00.000Z',
        paused: true,
      });
    });
  });
}

/** A booking the way the booking module commits one: serial, queue event, `queue.changed` after commit. */
async function bookDirectly(
  app: FastifyInstance,
  f: QueueFixture,
  tracked: { id: string; token: string }[],
): Promise<{ version: number }> {
  const token = newOpaqueToken();
  return app.events.transaction(app.db, async (trx, emit) => {
    const queue = await trx
      .selectFrom('sessionDays')
      .selectAll()
      .where('id', '=', f.queueId)
      .forUpdate()
      .executeTakeFirstOrThrow();
    const serial = await takeNextSerial(trx, f.queueId);
    const row = await trx
      .insertInto('appointments')
      .values({
        queueId: f.queueId,
        doctorId: queue.doctorId,
        date: queue.date,
        serial,
        positionKey: serial,
        estimatedAt: queue.startsAt,
        trackingTokenHash: hashToken(token),
        walkInName: 'Booked Later',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const version = await recordQueueEvent(trx, {
      queueId: f.queueId,
      type: 'booked',
      appointmentId: row.id,
      serial,
    });
    await emit('queue.changed', {
      queueId: f.queueId,
      version,
      type: 'booked',
      appointmentId: row.id,
      serial,
    });
    tracked.push({ id: row.id, token });
    return { version };
  });
}
