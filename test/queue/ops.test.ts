import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import { buildTestApp } from '../helpers/app.js';
import { type QueueFixture, queueFixture, storeSetups } from './ops.fixtures.js';

const NOW = '2026-03-10T04:00:00Z'; // 10:00 in Dhaka

async function op(
  app: FastifyInstance,
  auth: { authorization: string } | undefined,
  url: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  return app.inject({ method: 'POST', url, headers: { ...auth, ...headers }, payload: body as object });
}

async function snapshot(app: FastifyInstance, queueId: string, auth?: { authorization: string }) {
  const res = await app.inject({ method: 'GET', url: `/v1/queues/${queueId}`, headers: auth });
  assert.equal(res.statusCode, 200, res.body);
  return res.json();
}

const entryUrl = (f: QueueFixture, i: number, action: string) =>
  `/v1/queues/${f.queueId}/entries/${f.patients[i].appointmentId}/${action}`;

for (const setup of await storeSetups()) {
  describe(`queue operations (${setup.name})`, () => {
    const build = async (t: import('node:test').TestContext, count = 5) => {
      const clock = new ManualClock(NOW);
      const { app } = await buildTestApp(t, { backend: setup.backend, redis: setup.redis, clock });
      const f = await queueFixture(app, { count });
      return { app, f, clock };
    };

    test('call-next, complete and skip walk the queue; versions and queue_events follow each step', async (t) => {
      const { app, f, clock } = await build(t);
      const first = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      assert.equal(first.statusCode, 200, first.body);
      assert.equal(first.json().serial, 1);
      assert.equal(first.json().status, 'called');
      assert.equal(first.headers.etag, `"${first.json().version}"`);
      let snap = await snapshot(app, f.queueId, f.staff.auth);
      assert.equal(snap.nowServing, 1);
      assert.deepEqual(
        snap.entries.map((e: { serial: number; position: number | null }) => [e.serial, e.position]),
        [
          [2, 0],
          [3, 1],
          [4, 2],
          [5, 3],
          [1, null],
        ],
      );
      clock.advance(7 * 60_000);
      const done = await op(app, f.doctor.auth, entryUrl(f, 0, 'complete'));
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.json().status, 'completed');
      snap = await snapshot(app, f.queueId, f.staff.auth);
      assert.equal(snap.entries.length, 4);
      // The 10 min prior weighs 3 samples beside one 7 min consult: (3×600 + 420) / 4 = 555.
      assert.equal(snap.avgConsultSeconds, 555);
      await op(app, f.doctor.auth, `/v1/queues/${f.queueId}/call-next`);
      const skipped = await op(app, f.doctor.auth, entryUrl(f, 1, 'skip'));
      assert.equal(skipped.json().status, 'skipped');
      snap = await snapshot(app, f.queueId, f.staff.auth);
      assert.deepEqual(
        snap.entries.map((e: { serial: number; status: string }) => [e.serial, e.status]),
        [
          [3, 'booked'],
          [4, 'booked'],
          [5, 'booked'],
          [2, 'skipped'],
        ],
      );
      const events = await app.db
        .selectFrom('queueEvents')
        .select(['version', 'type', 'serial'])
        .where('queueId', '=', f.queueId)
        .orderBy('version')
        .execute();
      assert.deepEqual(
        events.map((e) => [e.version, e.type, e.serial]),
        [
          [1, 'called', 1],
          [2, 'completed', 1],
          [3, 'called', 2],
          [4, 'skipped', 2],
        ],
      );
      assert.equal(snap.version, 4);
    });

    test('a stale If-Match answers 409 VERSION_CONFLICT and changes nothing; the current one passes', async (t) => {
      const { app, f } = await build(t);
      const stale = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`, undefined, {
        'if-match': '7',
      });
      assert.equal(stale.statusCode, 409);
      assert.equal(stale.json().code, 'VERSION_CONFLICT');
      assert.equal((await snapshot(app, f.queueId)).version, 0);
      const ok = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`, undefined, {
        'if-match': '"0"',
      });
      assert.equal(ok.statusCode, 200, ok.body);
      const again = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`, undefined, {
        'if-match': '0',
      });
      assert.equal(again.json().code, 'VERSION_CONFLICT');
      const bad = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`, undefined, {
        'if-match': 'abc',
      });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.json().code, 'VALIDATION_FAILED');
      assert.equal((await snapshot(app, f.queueId)).version, 1);
    });

    test('invalid transitions answer 409 INVALID_TRANSITION and leave the queue as it was', async (t) => {
      const { app, f } = await build(t);
      for (const action of ['complete', 'skip', 'recall']) {
        const res = await op(
          app,
          f.staff.auth,
          entryUrl(f, 2, action),
          action === 'recall' ? { reason: 'staff_decision' } : undefined,
        );
        assert.equal(res.statusCode, 409, `${action}: ${res.body}`);
        assert.equal(res.json().code, 'INVALID_TRANSITION');
      }
      assert.equal(
        (await op(app, f.staff.auth, `/v1/queues/${f.queueId}/resume`)).json().code,
        'INVALID_TRANSITION',
      );
      assert.equal((await op(app, f.staff.auth, entryUrl(f, 0, 'check-in'))).statusCode, 200);
      assert.equal(
        (await op(app, f.staff.auth, entryUrl(f, 0, 'check-in'))).json().code,
        'INVALID_TRANSITION',
      );
      assert.equal((await snapshot(app, f.queueId)).version, 1);
    });

    test('only staff of the hospital, its doctor and admins run the queue', async (t) => {
      const { app, f } = await build(t);
      const url = `/v1/queues/${f.queueId}/call-next`;
      for (const who of [f.patients[0], f.otherStaff, f.otherDoctor]) {
        const res = await op(app, who.auth, url);
        assert.equal(res.statusCode, 403, res.body);
        assert.equal(res.json().code, 'FORBIDDEN');
      }
      assert.equal((await op(app, undefined, url)).statusCode, 401);
      assert.equal((await snapshot(app, f.queueId)).version, 0);
      for (const who of [f.doctor, f.staff, f.admin])
        assert.equal((await op(app, who.auth, url)).statusCode, 200);
    });

    test('guests and patients see serials only; staff and the doctor also see names and ids', async (t) => {
      const { app, f } = await build(t, 3);
      for (const auth of [undefined, f.patients[0].auth, f.otherStaff.auth]) {
        const snap = await snapshot(app, f.queueId, auth);
        const text = JSON.stringify(snap);
        for (const p of f.patients) {
          assert.ok(!text.includes(p.name), 'no names');
          assert.ok(!text.includes(p.appointmentId), 'no appointment ids');
        }
        assert.deepEqual(Object.keys(snap.entries[0]).sort(), ['position', 'serial', 'status']);
      }
      for (const auth of [f.staff.auth, f.doctor.auth, f.admin.auth]) {
        const snap = await snapshot(app, f.queueId, auth);
        assert.equal(snap.entries[0].name, f.patients[0].name);
        assert.equal(snap.entries[0].appointmentId, f.patients[0].appointmentId);
      }
      const track = await app.inject({ url: `/v1/track/${f.patients[1].trackingToken}` });
      assert.equal(track.statusCode, 200);
      const view = track.json();
      assert.equal(view.serial, 2);
      assert.equal(view.position, 1);
      assert.equal(view.doctorName, 'Dr. Queue');
      assert.equal(view.room, '204');
      assert.ok(!track.body.includes(f.patients[1].name));
      assert.equal(view.etaAt, new Date(Date.parse(NOW) + 600_000).toISOString());
      assert.equal((await app.inject({ url: `/v1/track/${'x'.repeat(40)}` })).statusCode, 404);
    });

    test('calling out of order, a priority walk-in and a recall need a reason that the fairness log keeps', async (t) => {
      const { app, f } = await build(t);
      const noReason = await op(app, f.staff.auth, entryUrl(f, 3, 'call'));
      assert.equal(noReason.statusCode, 400);
      assert.equal(noReason.json().code, 'VALIDATION_FAILED');
      const badReason = await op(app, f.staff.auth, entryUrl(f, 3, 'call'), { reason: 'bribe' });
      assert.equal(badReason.statusCode, 400);
      const called = await op(app, f.staff.auth, entryUrl(f, 3, 'call'), {
        reason: 'returning_with_results',
      });
      assert.equal(called.statusCode, 200, called.body);
      // The head needs no reason.
      assert.equal((await op(app, f.staff.auth, entryUrl(f, 0, 'call'))).statusCode, 200);

      const walkInNoReason = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/walk-ins`, {
        name: 'Rushed In',
        priority: 5,
      });
      assert.equal(walkInNoReason.statusCode, 400);
      const walkIn = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/walk-ins`, {
        name: 'Rushed In',
        priority: 5,
        reason: 'emergency',
      });
      assert.equal(walkIn.statusCode, 201, walkIn.body);
      assert.equal(walkIn.json().serial, 6);
      const plain = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/walk-ins`, { name: 'Walked In' });
      assert.equal(plain.json().serial, 7);
      let snap = await snapshot(app, f.queueId, f.staff.auth);
      const waiting = snap.entries.filter((e: { position: number | null }) => e.position !== null);
      assert.deepEqual(
        waiting.map((e: { serial: number }) => e.serial),
        [6, 2, 3, 5, 7],
      );
      assert.equal(waiting[0].name, 'Rushed In');
      const track = await app.inject({ url: `/v1/track/${walkIn.json().trackingToken}` });
      assert.equal(track.json().position, 0);
      assert.equal(track.json().status, 'checked_in');

      // Serial 1 is being served: skip it; 6 (emergency) then 2 (checked in; 3 and 5 are late and absent)
      // are called, each call completing the visit before; recalling 1 puts it right after the entry being
      // served (2), ahead of 3.
      assert.equal((await op(app, f.staff.auth, entryUrl(f, 1, 'check-in'))).statusCode, 200);
      await op(app, f.staff.auth, entryUrl(f, 0, 'skip'));
      assert.equal((await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`)).json().serial, 6);
      assert.equal((await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`)).json().serial, 2);
      assert.equal((await op(app, f.staff.auth, entryUrl(f, 0, 'recall'))).statusCode, 400);
      const recalled = await op(app, f.staff.auth, entryUrl(f, 0, 'recall'), { reason: 'staff_decision' });
      assert.equal(recalled.statusCode, 200, recalled.body);
      snap = await snapshot(app, f.queueId, f.staff.auth);
      assert.deepEqual(
        snap.entries
          .filter((e: { position: number | null }) => e.position !== null)
          .map((e: { serial: number }) => e.serial),
        [1, 3, 5, 7],
      );
      const log = await app.db
        .selectFrom('queueEvents')
        .select(['type', 'serial', 'reason'])
        .where('queueId', '=', f.queueId)
        .where('reason', 'is not', null)
        .orderBy('version')
        .execute();
      assert.deepEqual(
        log.map((e) => [e.type, e.serial, e.reason]),
        [
          ['called', 4, 'returning_with_results'],
          ['walk_in', 6, 'emergency'],
          ['recalled', 1, 'staff_decision'],
        ],
      );
    });

    test('a recall goes to the front of its band when the one being served is an emergency or itself', async (t) => {
      const { app, f } = await build(t);
      const waiting = async () =>
        (await snapshot(app, f.queueId)).entries
          .filter((e: { position: number | null }) => e.position !== null)
          .map((e: { serial: number }) => e.serial);
      const reason = { reason: 'staff_decision' };
      await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      await op(app, f.staff.auth, entryUrl(f, 0, 'skip'));
      const emergency = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/walk-ins`, {
        name: 'Rushed In',
        priority: 5,
        reason: 'emergency',
      });
      assert.equal(emergency.json().serial, 6);
      assert.equal((await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`)).json().serial, 6);
      // (a) The emergency being served is in another band: serial 1 goes to the front of its own.
      assert.equal((await op(app, f.staff.auth, entryUrl(f, 0, 'recall'), reason)).statusCode, 200);
      assert.deepEqual(await waiting(), [1, 2, 3, 4, 5]);
      // (b) 4 was called out of order, then skipped: now serving is 4 itself, so it goes to the front.
      assert.equal((await op(app, f.staff.auth, entryUrl(f, 3, 'call'), reason)).statusCode, 200);
      await op(app, f.staff.auth, entryUrl(f, 3, 'skip'));
      assert.equal((await op(app, f.staff.auth, entryUrl(f, 3, 'recall'), reason)).statusCode, 200);
      assert.deepEqual(await waiting(), [4, 1, 2, 3, 5]);
      const rows = await app.db
        .selectFrom('appointments')
        .select(['serial', 'positionKey'])
        .where('queueId', '=', f.queueId)
        .where('serial', 'in', [1, 4])
        .orderBy('serial')
        .execute();
      assert.ok(rows[1].positionKey < rows[0].positionKey && rows[0].positionKey < 2, 'Postgres agrees');
      await app.queueStore.drop(f.queueId);
      assert.deepEqual(await waiting(), [4, 1, 2, 3, 5], 'a rebuild from Postgres keeps the order');
    });

    test('a waiting patient sees how many were called out of order ahead of them, never who', async (t) => {
      const { app, f } = await build(t);
      const track = async (token: string) => {
        const res = await app.inject({ url: `/v1/track/${token}` });
        assert.equal(res.statusCode, 200, res.body);
        return res.json();
      };
      const seen = async (i: number) => (await track(f.patients[i].trackingToken)).seenOutOfOrder;
      assert.equal(await seen(4), 0);
      await op(app, f.staff.auth, entryUrl(f, 2, 'call'), { reason: 'elderly_disabled' });
      await op(app, f.staff.auth, entryUrl(f, 2, 'complete'));
      await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      await op(app, f.staff.auth, entryUrl(f, 0, 'complete'));
      await op(app, f.staff.auth, entryUrl(f, 4, 'call'), { reason: 'returning_with_results' });
      await op(app, f.staff.auth, entryUrl(f, 4, 'skip'));
      const walkIn = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/walk-ins`, { name: 'Late Comer' });
      await op(app, f.staff.auth, entryUrl(f, 4, 'recall'), { reason: 'staff_decision' });
      // 2 and 4 (index 1, 3) waited through both out-of-order calls; 5 was one of them itself; the walk-in
      // came after both; a head call (serial 1) does not count.
      const expected = [
        [1, 2],
        [3, 2],
        [4, 1],
      ] as const;
      for (const [i, count] of expected) assert.equal(await seen(i), count, `patient ${i + 1}`);
      assert.equal((await track(walkIn.json().trackingToken)).seenOutOfOrder, 0);
      assert.equal(await seen(0), null, 'a finished visit has no count');
      const watched = await app.queue.watchAppointment(
        null,
        f.patients[1].appointmentId,
        f.patients[1].appointmentId,
      );
      assert.equal(watched.seenOutOfOrder, 2);
      const body = (await app.inject({ url: `/v1/track/${f.patients[1].trackingToken}` })).body;
      for (const p of f.patients) assert.ok(!body.includes(p.name), 'names nobody');
      // From Postgres (queue_events) after losing the projection: the same counts.
      await app.queueStore.drop(f.queueId);
      for (const [i, count] of expected)
        assert.equal(await seen(i), count, `patient ${i + 1} after a rebuild`);
    });

    test('pause, resume and close with no-shows; a closed queue accepts nothing', async (t) => {
      const { app, f } = await build(t);
      const paused = await op(app, f.doctor.auth, `/v1/queues/${f.queueId}/pause`, {
        message: 'Back in 15 minutes',
        until: '2026-03-10T04:15:00Z',
      });
      assert.equal(paused.statusCode, 200, paused.body);
      let snap = await snapshot(app, f.queueId);
      assert.equal(snap.paused, true);
      assert.equal(snap.notice, 'Back in 15 minutes');
      const track = await app.inject({ url: `/v1/track/${f.patients[0].trackingToken}` });
      assert.equal(track.json().etaAt, '2026-03-10T04:15:00.000Z');
      const calling = await op(app, f.doctor.auth, `/v1/queues/${f.queueId}/call-next`);
      assert.equal(calling.json().code, 'QUEUE_NOT_OPEN');
      assert.equal((await op(app, f.doctor.auth, `/v1/queues/${f.queueId}/resume`)).statusCode, 200);
      await op(app, f.doctor.auth, `/v1/queues/${f.queueId}/call-next`);
      const closed = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/close`, { remaining: 'no_show' });
      assert.equal(closed.statusCode, 200, closed.body);
      snap = await snapshot(app, f.queueId);
      assert.equal(snap.status, 'closed');
      assert.deepEqual(
        snap.entries.map((e: { serial: number; status: string }) => [e.serial, e.status]),
        [[1, 'called']],
      );
      const rows = await app.db
        .selectFrom('appointments')
        .select(['serial', 'status'])
        .where('queueId', '=', f.queueId)
        .orderBy('serial')
        .execute();
      assert.deepEqual(
        rows.map((r) => r.status),
        ['called', 'no_show', 'no_show', 'no_show', 'no_show'],
      );
      const after = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/walk-ins`, { name: 'Late' });
      assert.equal(after.statusCode, 409);
      assert.equal(after.json().code, 'QUEUE_NOT_OPEN');
      assert.equal(
        (await op(app, f.staff.auth, `/v1/queues/${f.queueId}/close`, { remaining: 'oops' })).statusCode,
        400,
      );
    });

    test('a queue answers QUEUE_NOT_OPEN before its local date', async (t) => {
      const clock = new ManualClock(NOW);
      const { app } = await buildTestApp(t, { backend: setup.backend, redis: setup.redis, clock });
      const f = await queueFixture(app, { count: 2, dateOffsetDays: 1 });
      const res = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      assert.equal(res.statusCode, 409);
      assert.equal(res.json().code, 'QUEUE_NOT_OPEN');
      const checkIn = await op(
        app,
        f.patients[0].auth,
        `/v1/appointments/${f.patients[0].appointmentId}/check-in`,
      );
      assert.equal(checkIn.json().code, 'QUEUE_NOT_OPEN');
      // Snapshots still work before the day.
      assert.equal((await snapshot(app, f.queueId)).entries.length, 2);
    });

    test('patients check themselves in (signed in or by tracking link), never someone else', async (t) => {
      const { app, f } = await build(t, 3);
      const other = await op(
        app,
        f.patients[1].auth,
        `/v1/appointments/${f.patients[0].appointmentId}/check-in`,
      );
      assert.equal(other.statusCode, 403);
      const own = await op(
        app,
        f.patients[0].auth,
        `/v1/appointments/${f.patients[0].appointmentId}/check-in`,
      );
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(own.json().status, 'checked_in');
      const byLink = await op(app, undefined, `/v1/track/${f.patients[1].trackingToken}/check-in`);
      assert.equal(byLink.statusCode, 200, byLink.body);
      const snap = await snapshot(app, f.queueId);
      assert.deepEqual(
        snap.entries.map((e: { status: string }) => e.status),
        ['checked_in', 'checked_in', 'booked'],
      );
      const checkedIn = await app.db
        .selectFrom('queueEvents')
        .select('data')
        .where('queueId', '=', f.queueId)
        .where('type', '=', 'checked_in')
        .orderBy('version')
        .execute();
      // The ETA shown at check-in is recorded for accuracy reports.
      assert.equal((checkedIn[1].data as { position: number }).position, 1);
      assert.equal(
        (checkedIn[1].data as { etaAt: string }).etaAt,
        new Date(Date.parse(NOW) + 600_000).toISOString(),
      );
      const called = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      const event = await app.db
        .selectFrom('queueEvents')
        .select(['data', 'at'])
        .where('queueId', '=', f.queueId)
        .where('version', '=', called.json().version)
        .executeTakeFirstOrThrow();
      assert.equal((event.data as { outOfOrder: boolean }).outOfOrder, false);
    });

    test('GET /queues lists the day and a wiped projection is rebuilt from Postgres on the next read', async (t) => {
      const { app, f } = await build(t, 4);
      await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      const list = await app.inject({ url: `/v1/queues?date=${f.date}&hospitalId=${f.hospitalId}` });
      assert.equal(list.statusCode, 200, list.body);
      assert.equal(list.json().items.length, 1);
      assert.equal(list.json().items[0].queueId, f.queueId);
      assert.equal(list.json().items[0].nowServing, 1);
      await app.queueStore.drop(f.queueId);
      const snap = await snapshot(app, f.queueId);
      assert.equal(snap.version, 1);
      assert.equal(snap.nowServing, 1);
      assert.equal(snap.entries.length, 4);
      await app.queueStore.drop(f.queueId);
      const next = await op(app, f.staff.auth, `/v1/queues/${f.queueId}/call-next`);
      assert.equal(next.json().serial, 2);
      const after = await snapshot(app, f.queueId);
      // Call-next completed serial 1 (version 2), then called 2 (version 3): one patient is being served.
      assert.equal(after.version, 3);
      assert.equal(after.nowServing, 2);
      assert.deepEqual(
        after.entries.map((e: { serial: number; position: number | null }) => [e.serial, e.position]),
        [
          [3, 0],
          [4, 1],
          [2, null],
        ],
      );
    });
  });
}
