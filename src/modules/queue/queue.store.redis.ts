// Redis queue store: placeholder until the Lua-backed implementation lands (same file, same class name).
import type { Redis } from 'ioredis';
import type { QueueStoreOptions } from './queue.store.js';
import { MemoryQueueStore } from './queue.store.memory.js';

/** Temporarily behaves like the memory store so callers can be built against the interface. */
export class RedisQueueStore extends MemoryQueueStore {
  constructor(_redis: Redis, options: QueueStoreOptions = {}) {
    super(options);
  }
}
