// The store-only part of the queue-scaling bench (queue-scaling.ts runs it after the HTTP figures): the cost
// of `call` (call-next) and a completing `remove` on a queue with 10 waiting entries against one with 10,000,
// on each store. Prints the medians and the large/small ratio (target ≤ 1.5×).
// Run alone: npx tsx test/bench/queue-scaling-store.ts   (bounded: a fixed number of rounds per store)
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { QueueProjection, QueueStore } from '../../src/modules/queue/queue.store.js';
import { MemoryQueueStore } from '../../src/modules/queue/queue.store.memory.js';
import { RedisQueueStore } from '../../src/modules/queue/queue.store.redis.js';
import { entry, projection } from '../queue/store.fixtures.js';

const SMALL = 10;
const LARGE = 10_000;
const TARGET = 1.5;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A waiting entry with a fresh appointment id. */
const waitingEntry = (serial: number) => entry(randomUUID(), serial);

/** An open queue with `size` waiting entries. */
const queueOf = (size: number) => projection(Array.from({ length: size }, (_, i) => waitingEntry(i + 1)));

/** A queue kept at a constant length: each round calls the head, completes it and books one at the tail. */
class Lane {
  version = 0;
  nextSerial: number;
  head: string;
  readonly callNs: number[] = [];
  readonly completeNs: number[] = [];

  constructor(
    readonly store: QueueStore,
    readonly p: QueueProjection,
  ) {
    this.nextSerial = p.entries.length + 1;
    this.head = p.entries[0].appointmentId;
  }

  async round(record: boolean): Promise<void> {
    const id = this.p.meta.queueId;
    const called = this.head;
    let t = process.hrtime.bigint();
    const call = await this.store.apply(id, {
      version: ++this.version,
      ops: [{ op: 'call', appointmentId: called }],
    });
    const callNs = Number(process.hrtime.bigint() - t);
    if (call.status !== 'applied') throw new Error(`call: ${call.status}`);
    t = process.hrtime.bigint();
    const done = await this.store.apply(id, {
      version: ++this.version,
      ops: [{ op: 'remove', appointmentId: called, consultSeconds: 420 }],
    });
    const completeNs = Number(process.hrtime.bigint() - t);
    if (done.status !== 'applied') throw new Error(`complete: ${done.status}`);
    const refill = await this.store.apply(id, {
      version: ++this.version,
      ops: [{ op: 'add', entry: waitingEntry(this.nextSerial++) }],
    });
    if (refill.status !== 'applied') throw new Error(`refill: ${refill.status}`);
    this.head = refill.head[0].appointmentId;
    if (record) {
      this.callNs.push(callNs);
      this.completeNs.push(completeNs);
    }
  }
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;

async function bench(name: string, store: QueueStore, rounds: number, warmup: number): Promise<boolean> {
  const small = new Lane(store, queueOf(SMALL));
  const large = new Lane(store, queueOf(LARGE));
  await store.replace(small.p);
  await store.replace(large.p);
  try {
    // Interleaved so that machine noise hits both sizes alike.
    for (let i = 0; i < warmup + rounds; i++) {
      await small.round(i >= warmup);
      await large.round(i >= warmup);
    }
    let ok = true;
    for (const [op, a, b] of [
      ['call-next', small.callNs, large.callNs],
      ['complete', small.completeNs, large.completeNs],
    ] as const) {
      const ratio = median(b) / median(a);
      ok &&= ratio <= TARGET;
      console.log(
        `${name.padEnd(6)} ${op.padEnd(9)}  ${SMALL} waiting: ${us(median(a)).padStart(9)}   ${LARGE} waiting: ${us(median(b)).padStart(9)}   ratio ${ratio.toFixed(2)}× (target ≤ ${TARGET}×) ${ratio <= TARGET ? 'ok' : 'MISSED'}`,
      );
    }
    return ok;
  } finally {
    await store.drop(small.p.meta.queueId);
    await store.drop(large.p.meta.queueId);
  }
}

export async function runQueueScaling(): Promise<boolean> {
  console.log(`store only: median cost of one change at ${SMALL} vs ${LARGE} waiting entries`);
  let ok = await bench('memory', new MemoryQueueStore(), 1000, 200);
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch {
    console.log(`redis  skipped: no Redis at ${REDIS_URL}`);
    return ok;
  }
  try {
    const prefix = `cqbench:${randomBytes(4).toString('hex')}:`;
    ok = (await bench('redis', new RedisQueueStore(redis, { prefix }), 500, 100)) && ok;
  } finally {
    redis.disconnect();
  }
  return ok;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const ok = await runQueueScaling();
  process.exitCode = ok ? 0 : 1;
}
