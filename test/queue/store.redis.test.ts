import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { createQueueStore } from '../../src/modules/queue/queue.store.js';
import { RedisQueueStore } from '../../src/modules/queue/queue.store.redis.js';
import { deleteRedisPrefix, REDIS_URL, skipWithout } from '../helpers/services.js';
import { queueStoreContract } from './store.contract.js';
import { entry, order, projection } from './store.fixtures.js';

const testPrefix = () => `cqt:store:${randomBytes(5).toString('hex')}:`;

const skip = await skipWithout('redis');

queueStoreContract(
  'redis',
  async () => {
    const redis = new Redis(REDIS_URL);
    const prefix = testPrefix();
    return {
      store: new RedisQueueStore(redis, { prefix }),
      close: async () => {
        await deleteRedisPrefix(prefix);
        redis.disconnect();
      },
    };
  },
  { skip },
);

describe('redis queue store', { skip }, () => {
  test('keeps every key of a queue under one hash tag and expires it', async (t) => {
    const redis = new Redis(REDIS_URL);
    const prefix = testPrefix();
    t.after(async () => {
      await deleteRedisPrefix(prefix);
      redis.disconnect();
    });
    const store = createQueueStore({ redis, prefix, ttlSeconds: 600 });
    assert.equal(store.kind, 'redis');
    const p = projection([
      entry('a1', 1),
      entry('a2', 2, { status: 'called' }),
      entry('a3', 3, { status: 'skipped' }),
    ]);
    await store.replace(p);
    const keys = (await redis.keys(`${prefix}*`)).sort();
    const tag = `${prefix}{q:${p.meta.queueId}}`;
    assert.deepEqual(keys, [`${tag}:c`, `${tag}:e`, `${tag}:m`, `${tag}:s`, `${tag}:z`]);
    const slots = new Set(keys.map((k) => k.slice(k.indexOf('{'), k.indexOf('}') + 1)));
    assert.equal(slots.size, 1);
    for (const key of keys) {
      const ttl = await redis.ttl(key);
      assert.ok(ttl > 0 && ttl <= 600, `${key} ttl ${ttl}`);
    }
  });

  test('two instances on separate connections rebuild a queue once and see each other’s changes', async (t) => {
    const a = new Redis(REDIS_URL);
    const b = new Redis(REDIS_URL);
    const prefix = testPrefix();
    t.after(async () => {
      await deleteRedisPrefix(prefix);
      a.disconnect();
      b.disconnect();
    });
    const one = new RedisQueueStore(a, { prefix });
    const two = new RedisQueueStore(b, { prefix });
    const p = projection([entry('a1', 1), entry('a2', 2)], { version: 4 });
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 50));
      return p;
    };
    const results = await Promise.all([one.rebuild(p.meta.queueId, load), two.rebuild(p.meta.queueId, load)]);
    assert.equal(loads, 1);
    assert.deepEqual(results.map((r) => r.status).sort(), ['rebuilt', 'waited']);
    assert.equal(
      (await one.apply(p.meta.queueId, { version: 5, ops: [{ op: 'call', appointmentId: 'a1' }] })).status,
      'applied',
    );
    assert.deepEqual(
      await two.apply(p.meta.queueId, { version: 5, ops: [{ op: 'call', appointmentId: 'a1' }] }),
      {
        status: 'stale',
        version: 5,
      },
    );
    assert.deepEqual(await order(two, p.meta.queueId), ['2w0', '1c']);
  });

  test('a rebuild lock left by a crashed instance expires and the queue is rebuilt', async (t) => {
    const redis = new Redis(REDIS_URL);
    const prefix = testPrefix();
    t.after(async () => {
      await deleteRedisPrefix(prefix);
      redis.disconnect();
    });
    const store = new RedisQueueStore(redis, { prefix, lockMs: 100 });
    const p = projection([entry('a1', 1)], { version: 2 });
    await redis.set(`${prefix}{q:${p.meta.queueId}}:lock`, 'someone-else', 'PX', 100);
    const result = await store.rebuild(p.meta.queueId, async () => p);
    assert.deepEqual(result, { status: 'rebuilt', version: 2 });
    assert.deepEqual(await order(store, p.meta.queueId), ['1w0']);
  });

  test('a concurrent stream of changes from two connections applies each version exactly once', async (t) => {
    const a = new Redis(REDIS_URL);
    const b = new Redis(REDIS_URL);
    const prefix = testPrefix();
    t.after(async () => {
      await deleteRedisPrefix(prefix);
      a.disconnect();
      b.disconnect();
    });
    const stores = [new RedisQueueStore(a, { prefix }), new RedisQueueStore(b, { prefix })];
    const p = projection([]);
    await stores[0].replace(p);
    const statuses: string[] = [];
    for (let v = 1; v <= 40; v++) {
      const change = { version: v, ops: [{ op: 'add' as const, entry: entry(`a${v}`, v) }] };
      const results = await Promise.all(stores.map((s) => s.apply(p.meta.queueId, change)));
      statuses.push(
        results
          .map((r) => r.status)
          .sort()
          .join('+'),
      );
    }
    assert.ok(
      statuses.every((s) => s === 'applied+stale'),
      statuses.join(),
    );
    const snap = (await stores[1].snapshot(p.meta.queueId))!;
    assert.equal(snap.meta.version, 40);
    assert.deepEqual(
      snap.entries.map((e) => e.serial),
      Array.from({ length: 40 }, (_, i) => i + 1),
    );
  });
});
