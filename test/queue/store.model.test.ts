// Model-based property test: random sequences of queue operations against the reference model in
// store.model.ts, on both stores. After every step positions, serials, versions and effects must agree.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import {
  type ApplyResult,
  applyOrRebuild,
  type QueueChange,
  type QueueOp,
  type QueueStore,
} from '../../src/modules/queue/queue.store.js';
import { MemoryQueueStore } from '../../src/modules/queue/queue.store.memory.js';
import { RedisQueueStore } from '../../src/modules/queue/queue.store.redis.js';
import { deleteRedisPrefix, REDIS_URL, skipWithout } from '../helpers/services.js';
import {
  type Action,
  actionArb,
  applyToModel,
  emptyModel,
  type ModelState,
  modelHead,
  modelProjection,
  modelSnapshot,
  opsFor,
} from './store.model.js';

const HEAD = 4;
async function assertSameQueue(store: QueueStore, model: ModelState, step: string) {
  const snap = await store.snapshot(model.queueId, { labels: true });
  assert.deepEqual(snap, modelSnapshot(model), `snapshot after ${step}`);
  for (const e of model.entries.slice(0, 3)) {
    const view = await store.position(model.queueId, e.appointmentId);
    const expected = modelSnapshot(model).entries.find((x) => x.appointmentId === e.appointmentId)!;
    assert.deepEqual(
      view?.entry,
      { ...expected, label: null },
      `position of ${e.appointmentId} after ${step}`,
    );
  }
}

/** Runs one random sequence; `flush` loses the whole projection the way FLUSHDB would. */
async function runSequence(store: QueueStore, flush: (queueId: string) => Promise<void>, actions: Action[]) {
  let model = emptyModel(randomUUID());
  await store.replace(modelProjection(model));
  let lastChange: QueueChange | null = null;
  let flushed = false;
  try {
    for (const [i, action] of actions.entries()) {
      const step = `#${i} ${JSON.stringify(action)}`;
      if (action.t === 'flush') {
        await flush(model.queueId);
        flushed = true;
        continue;
      }
      if (action.t === 'duplicate' || action.t === 'late' || action.t === 'gap') {
        if (flushed) continue;
        const version: number =
          action.t === 'duplicate'
            ? (lastChange?.version ?? 0)
            : action.t === 'late'
              ? model.version - 1
              : model.version + 2;
        if (version < 1) continue;
        const ops: QueueOp[] = action.t === 'duplicate' && lastChange ? lastChange.ops : [];
        const expected: ApplyResult =
          action.t === 'gap'
            ? { status: 'gap', version: model.version }
            : { status: 'stale', version: model.version };
        assert.deepEqual(await store.apply(model.queueId, { version, ops }), expected, step);
        await assertSameQueue(store, model, step);
        continue;
      }
      const ops = opsFor(model, action)!;
      const change: QueueChange = { version: model.version + 1, ops };
      const next = applyToModel(model, change.version, ops);
      if (action.t === 'add' || action.t === 'addTie') next.model.nextSerial++;
      if (flushed) {
        // Postgres already holds the change: the rebuild includes it and the re-apply is stale.
        const outcome = await applyOrRebuild(store, model.queueId, change, async () =>
          modelProjection(next.model),
        );
        assert.equal(outcome.rebuilt, true, step);
        assert.deepEqual(outcome.result, { status: 'stale', version: change.version }, step);
        flushed = false;
      } else {
        const result = await store.apply(model.queueId, change);
        assert.equal(result.status, 'applied', `${step}: ${JSON.stringify(result)}`);
        const applied = result as Extract<ApplyResult, { status: 'applied' }>;
        assert.deepEqual(applied.entries, next.effects, `effects of ${step}`);
        assert.deepEqual(applied.headBefore, modelHead(model, HEAD), `head before ${step}`);
        assert.deepEqual(applied.head, modelHead(next.model, HEAD), `head after ${step}`);
        const { consultSamples: _s, ...meta } = modelSnapshot(next.model).meta;
        assert.deepEqual(applied.meta, meta, `meta of ${step}`);
      }
      model = next.model;
      lastChange = change;
      await assertSameQueue(store, model, step);
    }
  } finally {
    await store.drop(model.queueId);
  }
}

function property(store: QueueStore, flush: (queueId: string) => Promise<void>) {
  return fc.assert(
    fc.asyncProperty(fc.array(actionArb, { maxLength: 60 }), (actions) => runSequence(store, flush, actions)),
    { seed: 20300107, numRuns: 100, endOnFailure: true },
  );
}

const redisSkip = await skipWithout('redis');

describe('queue stores agree with the reference model', () => {
  test('memory store', async () => {
    const store = new MemoryQueueStore({ headSize: HEAD });
    await property(store, (queueId) => store.drop(queueId));
  });

  test('redis store, with its keys deleted mid-sequence', { skip: redisSkip }, async (t) => {
    const redis = new Redis(REDIS_URL);
    const prefix = `cqt:model:${randomBytes(5).toString('hex')}:`;
    t.after(async () => {
      await deleteRedisPrefix(prefix);
      redis.disconnect();
    });
    const store = new RedisQueueStore(redis, { prefix, headSize: HEAD });
    await property(store, () => deleteRedisPrefix(prefix));
  });
});
