// One contract for every QueueStore implementation (run by store.memory.test.ts and store.redis.test.ts).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  type ApplyResult,
  applyOrRebuild,
  keyBetween,
  type QueueStore,
  rollingAverage,
  seenOutOfOrder,
} from '../../src/modules/queue/queue.store.js';
import { entry, order, projection, type StoreFactory, seedQueue } from './store.fixtures.js';

function applied(result: ApplyResult) {
  assert.equal(result.status, 'applied', JSON.stringify(result));
  return result as Extract<ApplyResult, { status: 'applied' }>;
}

/** `skip`: the reason to report the suite as skipped (its service is unreachable). @default false */
export function queueStoreContract(
  name: string,
  factory: StoreFactory,
  options: { skip?: false | string } = {},
): void {
  describe(`queue store contract [${name}]`, { skip: options.skip ?? false }, () => {
    let store: QueueStore;
    let close: () => Promise<void>;
    before(async () => {
      ({ store, close } = await factory());
    });
    after(async () => {
      await close();
    });

    test('an unknown queue has no projection and answers missing to a change', async () => {
      const id = projection().meta.queueId;
      assert.equal(await store.snapshot(id), null);
      assert.equal(await store.meta(id), null);
      assert.equal(await store.position(id, 'a1'), null);
      assert.deepEqual(await store.apply(id, { version: 1, ops: [] }), { status: 'missing' });
      assert.equal(await store.snapshot(id), null, 'a missing apply creates nothing');
    });

    test('a snapshot lists waiting by priority then key, then called, then skipped, each by serial', async () => {
      const p = projection(
        [
          entry('a5', 5, { status: 'skipped' }),
          entry('a2', 2),
          entry('a4', 4, { status: 'called' }),
          entry('a1', 1, { status: 'skipped' }),
          entry('a3', 3, { priority: 2 }),
          entry('a6', 6, { positionKey: 1.5 }),
        ],
        { version: 7, nowServing: 4 },
      );
      assert.equal(await store.replace(p), 'replaced');
      assert.deepEqual(await order(store, p.meta.queueId), ['3w0', '6w1', '2w2', '4c', '1s', '5s']);
      const snap = (await store.snapshot(p.meta.queueId))!;
      assert.equal(snap.meta.version, 7);
      assert.equal(snap.meta.nowServing, 4);
      assert.equal(snap.meta.waiting, 3);
      assert.equal(snap.meta.avgConsultSeconds, 600, 'seeded from slotMinutes');
      assert.ok(
        snap.entries.every((e) => e.label === null),
        'labels hidden by default',
      );
      const privileged = (await store.snapshot(p.meta.queueId, { labels: true }))!;
      assert.deepEqual(
        privileged.entries.map((e) => e.label),
        ['Patient 3', 'Patient 6', 'Patient 2', 'Patient 4', 'Patient 1', 'Patient 5'],
      );
      const third = privileged.entries[2];
      assert.deepEqual(third, { ...entry('a2', 2), position: 2 });
    });

    test('a change applies only on top of the previous version: duplicates are stale, holes are gaps', async () => {
      const id = await seedQueue(store, 2);
      applied(await store.apply(id, { version: 1, ops: [{ op: 'add', entry: entry('a3', 3) }] }));
      const before = await store.snapshot(id);
      assert.deepEqual(await store.apply(id, { version: 1, ops: [{ op: 'add', entry: entry('a3', 3) }] }), {
        status: 'stale',
        version: 1,
      });
      assert.deepEqual(await store.apply(id, { version: 3, ops: [{ op: 'call', appointmentId: 'a1' }] }), {
        status: 'gap',
        version: 1,
      });
      assert.deepEqual(await store.snapshot(id), before, 'stale and gap change nothing');
      const empty = applied(await store.apply(id, { version: 2, ops: [] }));
      assert.equal(empty.meta.version, 2, 'an empty change still moves the version');
      assert.deepEqual(empty.entries, []);
    });

    test('adding reports position, the serial it follows, the waiting count and the head', async () => {
      const id = await seedQueue(store, 3);
      const walkIn = applied(
        await store.apply(id, {
          version: 1,
          ops: [{ op: 'add', entry: entry('w4', 4, { kind: 'walk_in' }) }],
        }),
      );
      assert.deepEqual(walkIn.entries, [
        { appointmentId: 'w4', serial: 4, status: 'waiting', stage: 'booked', position: 3, after: 3 },
      ]);
      assert.equal(walkIn.meta.waiting, 4);
      const emergency = applied(
        await store.apply(id, { version: 2, ops: [{ op: 'add', entry: entry('e5', 5, { priority: 9 }) }] }),
      );
      assert.deepEqual(emergency.entries[0], {
        appointmentId: 'e5',
        serial: 5,
        status: 'waiting',
        stage: 'booked',
        position: 0,
        after: null,
      });
      assert.deepEqual(
        emergency.headBefore.map((h) => h.serial),
        [1, 2, 3, 4],
      );
      assert.deepEqual(
        emergency.head.map((h) => [h.serial, h.position]),
        [
          [5, 0],
          [1, 1],
          [2, 2],
          [3, 3],
        ],
      );
      assert.deepEqual(await order(store, id), ['5w0', '1w1', '2w2', '3w3', '4w4']);
    });

    test('call, skip, recall and complete move an entry through the queue', async () => {
      const id = await seedQueue(store, 4);
      const called = applied(
        await store.apply(id, { version: 1, ops: [{ op: 'call', appointmentId: 'a1' }] }),
      );
      assert.equal(called.meta.nowServing, 1);
      assert.deepEqual(called.entries, [
        { appointmentId: 'a1', serial: 1, status: 'called', stage: 'booked', position: null },
      ]);
      assert.deepEqual(
        called.head.map((h) => h.serial),
        [2, 3, 4],
      );
      const skipped = applied(
        await store.apply(id, { version: 2, ops: [{ op: 'skip', appointmentId: 'a1' }] }),
      );
      assert.equal(skipped.entries[0].status, 'skipped');
      applied(await store.apply(id, { version: 3, ops: [{ op: 'call', appointmentId: 'a2' }] }));
      const recallKey = keyBetween(2, 3);
      const recalled = applied(
        await store.apply(id, {
          version: 4,
          ops: [{ op: 'recall', appointmentId: 'a1', positionKey: recallKey }],
        }),
      );
      assert.deepEqual(recalled.entries, [
        { appointmentId: 'a1', serial: 1, status: 'waiting', stage: 'booked', position: 0, after: null },
      ]);
      assert.deepEqual(await order(store, id), ['1w0', '3w1', '4w2', '2c']);
      const done = applied(
        await store.apply(id, {
          version: 5,
          ops: [{ op: 'remove', appointmentId: 'a2', consultSeconds: 300 }],
        }),
      );
      assert.deepEqual(done.entries, [
        { appointmentId: 'a2', serial: 2, status: 'removed', stage: 'booked', position: null },
      ]);
      assert.equal(done.meta.nowServing, 2, 'completing keeps the last called serial');
      assert.equal(done.meta.avgConsultSeconds, rollingAverage([300], 10));
      assert.deepEqual(await order(store, id), ['1w0', '3w1', '4w2']);
      const position = (await store.position(id, 'a2'))!;
      assert.equal(position.entry, null, 'a finished entry is not in the live queue');
      assert.equal(position.meta.version, 5);
    });

    test('an out-of-order call counts for the entries already in line, not for itself nor later arrivals', async () => {
      const id = await seedQueue(store, 3);
      const seen = async (appointmentId: string) =>
        seenOutOfOrder((await store.position(id, appointmentId))!);
      const called = applied(
        await store.apply(id, { version: 1, ops: [{ op: 'call', appointmentId: 'a3', outOfOrder: true }] }),
      );
      assert.equal(called.meta.outOfOrderCount, 1);
      applied(await store.apply(id, { version: 2, ops: [{ op: 'add', entry: entry('a4', 4) }] }));
      applied(
        await store.apply(id, {
          version: 3,
          ops: [
            { op: 'skip', appointmentId: 'a3' },
            { op: 'recall', appointmentId: 'a3', positionKey: 0.5 },
          ],
        }),
      );
      assert.deepEqual(
        [await seen('a1'), await seen('a2'), await seen('a3'), await seen('a4')],
        [1, 1, 0, 0],
      );
      applied(await store.apply(id, { version: 4, ops: [{ op: 'call', appointmentId: 'a3' }] }));
      assert.equal((await store.meta(id))!.outOfOrderCount, 1, 'a call of the head is in order');
      assert.equal(await seen('a3'), null, 'only waiting entries have a count');
      const rebuiltFrom = (await store.snapshot(id, { labels: true }))!;
      const { waiting: _w, avgConsultSeconds: _a, ...meta } = rebuiltFrom.meta;
      assert.equal(
        await store.replace({ meta, entries: rebuiltFrom.entries.map(({ position: _p, ...e }) => e) }),
        'replaced',
      );
      assert.deepEqual(await store.snapshot(id, { labels: true }), rebuiltFrom, 'counts survive a replace');
    });

    test('a skipped entry may be called directly', async () => {
      const id = await seedQueue(store, 2);
      applied(await store.apply(id, { version: 1, ops: [{ op: 'call', appointmentId: 'a1' }] }));
      applied(await store.apply(id, { version: 2, ops: [{ op: 'skip', appointmentId: 'a1' }] }));
      const again = applied(
        await store.apply(id, { version: 3, ops: [{ op: 'call', appointmentId: 'a1' }] }),
      );
      assert.equal(again.entries[0].status, 'called');
      assert.deepEqual(await order(store, id), ['2w0', '1c']);
    });

    test('stage changes the sub-status and keeps the place', async () => {
      const id = await seedQueue(store, 3);
      const result = applied(
        await store.apply(id, {
          version: 1,
          ops: [{ op: 'stage', appointmentId: 'a2', stage: 'checked_in' }],
        }),
      );
      assert.deepEqual(result.entries, [
        { appointmentId: 'a2', serial: 2, status: 'waiting', stage: 'checked_in', position: 1, after: 1 },
      ]);
      assert.deepEqual(result.head, result.headBefore);
      const view = (await store.position(id, 'a2'))!;
      assert.equal(view.entry?.stage, 'checked_in');
      assert.equal(view.entry?.position, 1);
      assert.equal(view.entry?.label, null, 'position reads never carry names');
    });

    test('a pause keeps its start until a status other than paused clears it, also across a replace', async () => {
      const id = await seedQueue(store, 1);
      const since = '2030-01-07T04:00:00.000Z';
      const paused = applied(
        await store.apply(id, {
          version: 1,
          ops: [
            { op: 'meta', patch: { status: 'paused', notice: null, pausedUntil: null, pausedAt: since } },
          ],
        }),
      );
      assert.equal(paused.meta.pausedAt, since);
      assert.equal(paused.meta.pausedUntil, null);
      const noted = applied(
        await store.apply(id, { version: 2, ops: [{ op: 'meta', patch: { notice: 'Ward round' } }] }),
      );
      assert.equal(noted.meta.pausedAt, since, 'a patch without a status keeps it');
      const copy = (await store.snapshot(id, { labels: true }))!;
      const { waiting: _w, avgConsultSeconds: _a, ...meta } = copy.meta;
      await store.replace({ meta, entries: copy.entries.map(({ position: _p, ...e }) => e) });
      assert.equal((await store.meta(id))!.pausedAt, since, 'kept by a replace');
      const resumed = applied(
        await store.apply(id, { version: 3, ops: [{ op: 'meta', patch: { status: 'open', notice: null } }] }),
      );
      assert.equal(resumed.meta.pausedAt, null, 'resuming clears it without being told');
      assert.equal((await store.position(id, 'a1'))!.meta.pausedAt, null);
    });

    test('meta changes pause, resume and close the queue', async () => {
      const id = await seedQueue(store, 1);
      const until = '2030-01-07T04:30:00.000Z';
      const paused = applied(
        await store.apply(id, {
          version: 1,
          ops: [
            {
              op: 'meta',
              patch: { status: 'paused', notice: 'Back at 10:30 — ward round', pausedUntil: until },
            },
          ],
        }),
      );
      assert.equal(paused.meta.status, 'paused');
      assert.equal(paused.meta.notice, 'Back at 10:30 — ward round');
      assert.equal(paused.meta.pausedUntil, until);
      const resumed = applied(
        await store.apply(id, {
          version: 2,
          ops: [{ op: 'meta', patch: { status: 'open', notice: null, pausedUntil: null } }],
        }),
      );
      assert.equal(resumed.meta.status, 'open');
      assert.equal(resumed.meta.notice, null);
      assert.equal(resumed.meta.pausedUntil, null);
      const closed = applied(
        await store.apply(id, {
          version: 3,
          ops: [
            { op: 'remove', appointmentId: 'a1' },
            { op: 'meta', patch: { status: 'closed' } },
          ],
        }),
      );
      assert.equal(closed.meta.status, 'closed');
      assert.equal(closed.meta.waiting, 0);
      assert.deepEqual((await store.meta(id))?.status, 'closed');
    });

    test('an op that does not fit drops the projection so it is rebuilt, never half-applied', async () => {
      const id = await seedQueue(store, 3);
      const conflict = await store.apply(id, {
        version: 1,
        ops: [
          { op: 'call', appointmentId: 'a1' },
          { op: 'skip', appointmentId: 'a2' },
        ],
      });
      assert.equal(conflict.status, 'conflict');
      assert.equal(await store.snapshot(id), null);
      const id2 = await seedQueue(store, 1);
      assert.equal(
        (await store.apply(id2, { version: 1, ops: [{ op: 'add', entry: entry('a1', 9) }] })).status,
        'conflict',
        'a duplicate add',
      );
      const id3 = await seedQueue(store, 1);
      assert.equal(
        (await store.apply(id3, { version: 1, ops: [{ op: 'remove', appointmentId: 'nope' }] })).status,
        'conflict',
        'an unknown entry',
      );
    });

    test('a malformed change throws and changes nothing', async () => {
      const id = await seedQueue(store, 1);
      const before = await store.snapshot(id);
      await assert.rejects(
        store.apply(id, { version: 1, ops: [{ op: 'add', entry: entry('x', 2, { priority: 1000 }) }] }),
        RangeError,
      );
      await assert.rejects(
        store.apply(id, {
          version: 1,
          ops: [{ op: 'recall', appointmentId: 'a1', positionKey: Number.NaN }],
        }),
        RangeError,
      );
      await assert.rejects(store.apply(id, { version: 1.5, ops: [] }), RangeError);
      assert.deepEqual(await store.snapshot(id), before);
    });

    test('the rolling average keeps the last 20 consults and fades the slot seed out', async () => {
      const id = await seedQueue(store, 25, { slotMinutes: 15 });
      const samples: number[] = [];
      for (let i = 1; i <= 25; i++) {
        const seconds = 100 + i * 7;
        samples.push(seconds);
        applied(await store.apply(id, { version: 2 * i - 1, ops: [{ op: 'call', appointmentId: `a${i}` }] }));
        const done = applied(
          await store.apply(id, {
            version: 2 * i,
            ops: [{ op: 'remove', appointmentId: `a${i}`, consultSeconds: seconds }],
          }),
        );
        assert.equal(done.meta.avgConsultSeconds, rollingAverage(samples.slice(-20), 15));
      }
      const meta = (await store.meta(id))!;
      assert.deepEqual(meta.consultSamples, samples.slice(-20));
      assert.equal(rollingAverage([], 15), 900);
      assert.equal(rollingAverage([300], 15), Math.round((3 * 900 + 300) / 4));
    });

    test('replace refuses an older projection and keeps the newer one', async () => {
      const p = projection([entry('a1', 1)], { version: 5 });
      assert.equal(await store.replace(p), 'replaced');
      const older = { ...p, meta: { ...p.meta, version: 4 }, entries: [] };
      assert.equal(await store.replace(older), 'stale');
      assert.equal((await store.meta(p.meta.queueId))?.version, 5);
      assert.equal((await store.meta(p.meta.queueId))?.waiting, 1);
      const newer = { ...p, meta: { ...p.meta, version: 6 }, entries: [] };
      assert.equal(await store.replace(newer), 'replaced');
      assert.equal((await store.meta(p.meta.queueId))?.waiting, 0);
    });

    test('concurrent rebuilds of one queue load it once', async () => {
      const p = projection([entry('a1', 1), entry('a2', 2)], { version: 3 });
      let loads = 0;
      const load = async () => {
        loads++;
        await new Promise((r) => setTimeout(r, 30));
        return p;
      };
      const results = await Promise.all([1, 2, 3].map(() => store.rebuild(p.meta.queueId, load)));
      assert.equal(loads, 1);
      assert.deepEqual(results.map((r) => r.status).sort(), ['rebuilt', 'waited', 'waited']);
      assert.ok(results.every((r) => r.status !== 'not_found' && r.version === 3));
      assert.deepEqual(await order(store, p.meta.queueId), ['1w0', '2w1']);
      assert.deepEqual(await store.rebuild(projection().meta.queueId, async () => null), {
        status: 'not_found',
      });
    });

    test('applyOrRebuild rebuilds a missing projection that already holds the change', async () => {
      const p = projection([entry('a1', 1), entry('a2', 2)], { version: 8 });
      const change = { version: 8, ops: [{ op: 'add' as const, entry: entry('a2', 2) }] };
      const { result, rebuilt } = await applyOrRebuild(store, p.meta.queueId, change, async () => p);
      assert.equal(rebuilt, true);
      assert.deepEqual(result, { status: 'stale', version: 8 });
      assert.deepEqual(await order(store, p.meta.queueId), ['1w0', '2w1']);
      const next = await applyOrRebuild(
        store,
        p.meta.queueId,
        { version: 9, ops: [{ op: 'call', appointmentId: 'a1' }] },
        async () => p,
      );
      assert.equal(next.rebuilt, false);
      assert.equal(next.result.status, 'applied');
    });

    test('many recalls between two serials keep their order', async () => {
      const id = await seedQueue(store, 2);
      let version = 0;
      let low = 1;
      const extra: string[] = [];
      // Each new entry goes between the previous one and serial 2, 30 times over.
      for (let i = 0; i < 30; i++) {
        const key = keyBetween(low, 2);
        assert.ok(key > low && key < 2);
        const id2 = `r${i}`;
        extra.push(id2);
        applied(
          await store.apply(id, {
            version: ++version,
            ops: [{ op: 'add', entry: entry(id2, 100 + i, { positionKey: key, priority: 100 }) }],
          }),
        );
        low = key;
      }
      const snap = (await store.snapshot(id))!;
      assert.deepEqual(
        snap.entries.map((e) => e.appointmentId),
        [...extra, 'a1', 'a2'],
      );
      assert.ok(snap.entries.every((e, i) => e.position === i));
      assert.equal(snap.entries[29].positionKey, low, 'keys survive storage exactly');
    });

    test('equal priority and key fall back to appointment id order', async () => {
      const p = projection([
        entry('b', 2, { positionKey: 1 }),
        entry('a', 1, { positionKey: 1 }),
        entry('c', 3),
      ]);
      await store.replace(p);
      const snap = (await store.snapshot(p.meta.queueId))!;
      assert.deepEqual(
        snap.entries.map((e) => e.appointmentId),
        ['a', 'b', 'c'],
      );
    });

    test('labels and estimates survive storage, including non-ASCII names and quotes', async () => {
      const label = 'নাদিয়া "Nadia" O\'Brien / ü';
      const p = projection([entry('a1', 1, { label, estimatedAt: null, kind: 'walk_in' })]);
      await store.replace(p);
      applied(
        await store.apply(p.meta.queueId, {
          version: 1,
          ops: [{ op: 'stage', appointmentId: 'a1', stage: 'confirmed' }],
        }),
      );
      const snap = (await store.snapshot(p.meta.queueId, { labels: true }))!;
      assert.equal(snap.entries[0].label, label);
      assert.equal(snap.entries[0].estimatedAt, null);
      assert.equal(snap.entries[0].kind, 'walk_in');
      assert.equal(snap.entries[0].stage, 'confirmed');
    });

    test('drop removes the projection', async () => {
      const id = await seedQueue(store, 2);
      await store.drop(id);
      assert.equal(await store.snapshot(id), null);
      assert.deepEqual(await store.apply(id, { version: 1, ops: [] }), { status: 'missing' });
    });

    test('positions stay right in a long queue', async () => {
      const id = await seedQueue(store, 3000);
      assert.equal((await store.position(id, 'a1500'))?.entry?.position, 1499);
      const r = applied(await store.apply(id, { version: 1, ops: [{ op: 'remove', appointmentId: 'a10' }] }));
      assert.equal(r.meta.waiting, 2999);
      assert.equal((await store.position(id, 'a1500'))?.entry?.position, 1498);
      assert.equal((await store.position(id, 'a5'))?.entry?.position, 4);
    });
  });
}
