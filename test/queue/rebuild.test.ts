// Rebuilding a queue projection from Postgres (queue.projection.ts) on both database backends and both
// stores: a day's operations are written to Postgres and applied to the store; the store's keys are lost
// mid-day; the rebuilt projection must equal the reference model — nothing lost, nothing duplicated.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { DB } from '../../src/db/database.js';
import { loadProjection, recallPositionKey } from '../../src/modules/queue/queue.projection.js';
import {
  applyOrRebuild,
  type QueueOp,
  type QueueStore,
  seenOutOfOrder,
} from '../../src/modules/queue/queue.store.js';
import { MemoryQueueStore } from '../../src/modules/queue/queue.store.memory.js';
import { RedisQueueStore } from '../../src/modules/queue/queue.store.redis.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends, deleteRedisPrefix, REDIS_URL, skipWithout } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import {
  type Action,
  actionArb,
  applyToModel,
  BASE_META,
  emptyModel,
  type ModelState,
  modelProjection,
  modelRecallKey,
  modelSnapshot,
  newEntry,
  opsFor,
} from './store.model.js';

interface StoreUnderTest {
  store: QueueStore;
  /** Loses every projection, as a flushed or restarted Redis would. */
  flush(queueId: string): Promise<void>;
  close(): Promise<void>;
}

/** Each store with the `skip` reason of its suite (false when its service is reachable). */
async function storesUnderTest(): Promise<[string, () => StoreUnderTest, false | string][]> {
  return [
    [
      'memory',
      () => {
        const store = new MemoryQueueStore();
        return { store, flush: (id) => store.drop(id), close: async () => {} };
      },
      false,
    ],
    [
      'redis',
      () => {
        const redis = new Redis(REDIS_URL);
        const prefix = `cqt:rebuild:${randomBytes(5).toString('hex')}:`;
        return {
          store: new RedisQueueStore(redis, { prefix }),
          flush: () => deleteRedisPrefix(prefix),
          close: async () => {
            await deleteRedisPrefix(prefix);
            redis.disconnect();
          },
        };
      },
      await skipWithout('redis'),
    ],
  ];
}

/** Hospital, verified doctor, weekly session and one session day (the queue); returns their ids. */
async function makeQueue(app: FastifyInstance, slotMinutes = 10) {
  const db = app.db;
  // The store's contract allows several called entries (the day ledger keeps one, see
  // test/queue/workflow.model.test.ts); these tests mirror arbitrary store changes into this test's own
  // database to check the rebuild, so they lift the one-called rule there.
  await sql`drop index if exists appointments_one_called_idx`.execute(db);
  const doctor = await makeUser(app, 'doctor');
  const hospital = await db
    .insertInto('hospitals')
    .values({ name: 'Rebuild General', city: 'Dhaka', timezone: 'Asia/Dhaka' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const session = await db
    .insertInto('sessions')
    .values({
      doctorId: doctor.doctorId!,
      hospitalId: hospital.id,
      weekday: 1,
      startTime: '09:00',
      endTime: '13:00',
      slotMinutes,
      capacity: 24,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const day = await db
    .insertInto('sessionDays')
    .values({
      sessionId: session.id,
      doctorId: doctor.doctorId!,
      hospitalId: hospital.id,
      date: BASE_META.date,
      startsAt: BASE_META.startsAt,
      endsAt: '2030-01-07T07:00:00.000Z',
      capacity: 24,
      slotMinutes,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const patient = await makeUser(app, 'patient', { name: 'Nadia Islam' });
  return { queueId: day.id, doctorId: doctor.doctorId!, hospitalId: hospital.id, patient };
}

let tick = Date.parse('2030-01-07T03:00:00.000Z');
const nextInstant = () => {
  tick += 1000;
  return new Date(tick);
};

/** Writes one change's ops to Postgres the way the operations service would, and bumps the version. */
async function writeToPostgres(db: DB, model: ModelState, doctorId: string, version: number, ops: QueueOp[]) {
  await db.transaction().execute(async (trx) => {
    for (const op of ops) {
      if (op.op === 'add') {
        const e = op.entry;
        await trx
          .insertInto('appointments')
          .values({
            queueId: model.queueId,
            doctorId,
            date: BASE_META.date,
            serial: e.serial,
            kind: e.kind,
            priority: e.priority,
            positionKey: e.positionKey,
            status: 'booked',
            estimatedAt: e.estimatedAt!,
            id: e.appointmentId,
            trackingTokenHash: randomBytes(16).toString('hex'),
            walkInName: e.label,
          })
          .execute();
        continue;
      }
      if (op.op === 'meta') {
        // pausedAt is not a column: a rebuild reads it from the day's latest paused event.
        const { pausedAt, ...columns } = op.patch;
        await trx.updateTable('sessionDays').set(columns).where('id', '=', model.queueId).execute();
        if (pausedAt)
          await trx
            .insertInto('queueEvents')
            .values({ queueId: model.queueId, version, type: 'paused', at: new Date(pausedAt) })
            .execute();
        continue;
      }
      const where = trx.updateTable('appointments').where('queueId', '=', model.queueId);
      const id = op.appointmentId;
      const entry = model.entries.find((e) => e.appointmentId === id)!;
      const row = where.where('id', '=', id);
      if (op.op === 'remove') {
        const at = nextInstant();
        if (op.consultSeconds !== undefined) {
          await row
            .set({
              status: 'completed',
              calledAt: new Date(at.getTime() - op.consultSeconds * 1000),
              completedAt: at,
            })
            .execute();
        } else {
          await row
            .set({ status: entry.status === 'waiting' ? 'cancelled' : 'no_show', cancelledAt: at })
            .execute();
        }
      } else if (op.op === 'stage') {
        const at = nextInstant();
        const confirmedAt = op.stage === 'booked' ? null : at;
        const checkedInAt = op.stage === 'checked_in' ? at : null;
        await row
          .set({ confirmedAt, checkedInAt, ...(entry.status === 'waiting' ? { status: op.stage } : {}) })
          .execute();
      } else if (op.op === 'call') {
        await row.set({ status: 'called', calledAt: nextInstant() }).execute();
        await trx
          .updateTable('sessionDays')
          .set({ nowServing: entry.serial })
          .where('id', '=', model.queueId)
          .execute();
      } else if (op.op === 'skip') {
        await row.set({ status: 'skipped', skippedAt: nextInstant() }).execute();
      } else if (op.op === 'recall') {
        const key = await recallPositionKey(trx, model.queueId, id);
        assert.equal(key, op.positionKey, 'recallPositionKey computes the key the model expects');
        await row.set({ status: entry.stage, positionKey: key }).execute();
      }
    }
    // The events a rebuild reads the fairness counts from: who joined when, and out-of-order calls.
    const joined = ops.find((op) => op.op === 'add');
    const calledAhead = ops.find((op) => op.op === 'call' && op.outOfOrder === true);
    if (joined?.op === 'add') {
      await trx
        .insertInto('queueEvents')
        .values({
          queueId: model.queueId,
          version,
          type: 'booked',
          appointmentId: joined.entry.appointmentId,
        })
        .execute();
    } else if (calledAhead?.op === 'call') {
      await trx
        .insertInto('queueEvents')
        .values({
          queueId: model.queueId,
          version,
          type: 'called',
          appointmentId: calledAhead.appointmentId,
          reason: 'staff_decision',
          data: JSON.stringify({ outOfOrder: true }),
        })
        .execute();
    }
    await trx.updateTable('sessionDays').set({ version }).where('id', '=', model.queueId).execute();
  });
}

for (const backend of await databaseBackends()) {
  for (const [storeName, makeStore, skip] of await storesUnderTest()) {
    describe(`queue rebuild from Postgres [${backend}, ${storeName}]`, { skip }, () => {
      test('a projection holds the session day and every unfinished appointment, in queue order', async (t) => {
        const { app } = await buildTestApp(t, { backend });
        const sut = makeStore();
        t.after(() => sut.close());
        const { queueId, doctorId, patient } = await makeQueue(app, 12);
        const db = app.db;
        const at = (m: number) => new Date(Date.parse(BASE_META.startsAt) + m * 60_000);
        const rows = [
          { serial: 1, status: 'completed', calledAt: at(0), completedAt: at(7) },
          { serial: 2, status: 'called', calledAt: at(8), checkedInAt: at(1) },
          { serial: 3, status: 'checked_in', confirmedAt: at(0), checkedInAt: at(2) },
          { serial: 4, status: 'confirmed', confirmedAt: at(1), profileId: patient.profileId },
          { serial: 5, status: 'booked', kind: 'walk_in', walkInName: 'Rahim Uddin' },
          { serial: 6, status: 'cancelled' },
          { serial: 7, status: 'skipped' },
          { serial: 8, status: 'no_show' },
          { serial: 9, status: 'booked', priority: 2 },
        ] as const;
        for (const row of rows) {
          await db
            .insertInto('appointments')
            .values({
              queueId,
              doctorId,
              date: BASE_META.date,
              positionKey: row.serial,
              estimatedAt: at(row.serial * 12),
              trackingTokenHash: randomBytes(16).toString('hex'),
              ...row,
            })
            .execute();
        }
        await db
          .updateTable('sessionDays')
          .set({ version: 17, nowServing: 2, status: 'paused', notice: 'Back soon', pausedUntil: at(30) })
          .where('id', '=', queueId)
          .execute();
        const projection = (await loadProjection(db, queueId))!;
        assert.equal(projection.meta.version, 17);
        assert.equal(projection.meta.status, 'paused');
        assert.equal(projection.meta.notice, 'Back soon');
        assert.equal(projection.meta.pausedUntil, at(30).toISOString());
        assert.deepEqual(projection.meta.consultSamples, [420]);
        assert.equal(projection.meta.slotMinutes, 12);
        assert.equal(await sut.store.replace(projection), 'replaced');
        const snap = (await sut.store.snapshot(queueId, { labels: true }))!;
        assert.deepEqual(
          snap.entries.map((e) => [e.serial, e.status, e.stage, e.position, e.label, e.kind]),
          [
            [9, 'waiting', 'booked', 0, null, 'booked'],
            [3, 'waiting', 'checked_in', 1, null, 'booked'],
            [4, 'waiting', 'confirmed', 2, 'Nadia Islam', 'booked'],
            [5, 'waiting', 'booked', 3, 'Rahim Uddin', 'walk_in'],
            [2, 'called', 'checked_in', null, null, 'booked'],
            [7, 'skipped', 'booked', null, null, 'booked'],
          ],
        );
        assert.equal(snap.meta.avgConsultSeconds, Math.round((3 * 720 + 420) / 4));
        assert.equal(snap.entries[1].estimatedAt, at(36).toISOString());
        assert.equal(await loadProjection(db, '00000000-0000-4000-8000-000000000000'), null);
      });

      test('a day of operations survives losing the projection twice: rebuilt from Postgres, nothing lost or duplicated', async (t) => {
        const { app } = await buildTestApp(t, { backend });
        const sut = makeStore();
        t.after(() => sut.close());
        const db = app.db;
        const changes = fc.sample(
          fc.array(
            actionArb.filter((a) => !['duplicate', 'late', 'gap', 'flush'].includes(a.t)),
            { minLength: 45, maxLength: 45 },
          ),
          { seed: 7, numRuns: 1 },
        )[0] as Action[];
        const { queueId, doctorId, hospitalId } = await makeQueue(app);
        const load = () => loadProjection(db, queueId);
        let model = emptyModel(queueId, { doctorId, hospitalId });
        assert.equal((await sut.store.rebuild(queueId, load)).status, 'rebuilt');
        let rebuilds = 0;
        for (const [i, action] of changes.entries()) {
          if (i === 15 || i === 30) await sut.flush(queueId);
          // Real appointment ids, as Postgres would hold them (equal keys are ordered by id).
          const ops = opsFor(model, action)!.map((op) =>
            op.op === 'add' ? { ...op, entry: { ...op.entry, appointmentId: randomUUID() } } : op,
          );
          const version = model.version + 1;
          const next = applyToModel(model, version, ops);
          if (action.t === 'add' || action.t === 'addTie') next.model.nextSerial++;
          await writeToPostgres(db, model, doctorId, version, ops);
          const outcome = await applyOrRebuild(sut.store, queueId, { version, ops }, load);
          if (outcome.rebuilt) rebuilds++;
          assert.ok(['applied', 'stale'].includes(outcome.result.status), JSON.stringify(outcome.result));
          model = next.model;
          const snap = (await sut.store.snapshot(queueId, { labels: true }))!;
          const expected = modelSnapshot(model);
          assert.deepEqual(snap.meta, expected.meta, `meta after #${i} ${JSON.stringify(action)}`);
          assert.deepEqual(snap.entries, expected.entries, `entries after #${i}`);
        }
        assert.equal(rebuilds, 2, 'each loss was noticed by the next change and rebuilt once');
        const fromPostgres = modelProjection(model);
        const rebuilt = (await load())!;
        assert.deepEqual(rebuilt.meta, fromPostgres.meta);
        assert.equal(
          new Set(rebuilt.entries.map((e) => e.serial)).size,
          rebuilt.entries.length,
          'no serial twice',
        );
        const sorted = (list: typeof rebuilt.entries) => [...list].sort((a, b) => a.serial - b.serial);
        assert.deepEqual(sorted(rebuilt.entries), sorted(fromPostgres.entries));
      });

      test('a recall goes right after the served entry of its own band, else to the front of its band; fairness counts survive a rebuild', async (t) => {
        const { app } = await buildTestApp(t, { backend });
        const sut = makeStore();
        t.after(() => sut.close());
        const db = app.db;
        const { queueId, doctorId, hospitalId } = await makeQueue(app);
        const load = () => loadProjection(db, queueId);
        let model = emptyModel(queueId, { doctorId, hospitalId });
        assert.equal((await sut.store.rebuild(queueId, load)).status, 'rebuilt');
        const change = async (ops: QueueOp[]) => {
          const version = model.version + 1;
          const next = applyToModel(model, version, ops);
          // writeToPostgres also checks that recallPositionKey (Postgres) gives the model's key.
          await writeToPostgres(db, model, doctorId, version, ops);
          const outcome = await applyOrRebuild(sut.store, queueId, { version, ops }, load);
          assert.equal(outcome.result.status, 'applied', JSON.stringify(outcome.result));
          model = next.model;
        };
        const idOf = (serial: number) => model.entries.find((e) => e.serial === serial)!.appointmentId;
        const add = async (priority = 0) => {
          const entry = { ...newEntry(model, 'x', priority, 'booked'), appointmentId: randomUUID() };
          await change([{ op: 'add', entry }]);
          model.nextSerial++;
        };
        const call = (serial: number, outOfOrder = false) =>
          change([{ op: 'call', appointmentId: idOf(serial), ...(outOfOrder ? { outOfOrder } : {}) }]);
        const skip = (serial: number) => change([{ op: 'skip', appointmentId: idOf(serial) }]);
        const recall = (serial: number) => {
          const entry = model.entries.find((e) => e.serial === serial)!;
          return change([
            { op: 'recall', appointmentId: entry.appointmentId, positionKey: modelRecallKey(model, entry) },
          ]);
        };
        const waiting = async () =>
          (await sut.store.snapshot(queueId))!.entries
            .filter((e) => e.position !== null)
            .map((e) => e.serial);
        const seen = async (serial: number) =>
          seenOutOfOrder((await sut.store.position(queueId, idOf(serial)))!);

        for (let i = 0; i < 4; i++) await add();
        await call(1);
        await skip(1);
        await add(3);
        await call(5);
        // (a) The entry being served (5, an emergency) is in another band: 1 goes to the front of its own.
        await recall(1);
        assert.deepEqual(await waiting(), [1, 2, 3, 4]);
        assert.equal(await seen(2), 0);
        // (b) 3 is called out of order and skipped: now_serving points at 3 itself, so it goes to the front.
        await call(3, true);
        await skip(3);
        await recall(3);
        assert.deepEqual(await waiting(), [3, 1, 2, 4]);
        // Same band: right after the entry being served (4, called out of order), not at the front.
        await call(3);
        await skip(3);
        await call(4, true);
        await recall(3);
        assert.deepEqual(await waiting(), [1, 2, 3]);
        // Fairness: 4 and 3 were called out of order after 2 joined; 3 does not count its own call.
        assert.equal(await seen(2), 2);
        assert.equal(await seen(3), 1);
        await add();
        assert.equal(await seen(6), 0, 'a later arrival saw none of them');
        assert.deepEqual(await sut.store.snapshot(queueId, { labels: true }), modelSnapshot(model));
        await sut.flush(queueId);
        assert.equal((await sut.store.rebuild(queueId, load)).status, 'rebuilt');
        assert.deepEqual(
          await sut.store.snapshot(queueId, { labels: true }),
          modelSnapshot(model),
          'the rebuilt projection has the same counts and keys',
        );
        assert.deepEqual([await seen(2), await seen(3), await seen(6)], [2, 1, 0]);
      });
    });
  }
}
