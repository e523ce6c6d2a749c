// Read-through cache for directory reads (profiles, catalogs, popular lists): Redis when it is configured, so
// every instance sees one cache and one invalidation, else an in-process LRU. Hits and misses go to /metrics.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { LRUCache } from 'lru-cache';
import { Counter, type Registry } from 'prom-client';
import type { RedisClient } from './redis.js';

declare module 'fastify' {
  interface FastifyInstance {
    cache: Cache;
  }
}

export interface Cache {
  readonly kind: 'redis' | 'memory';
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /** The cached value, or `load()`'s result stored for `ttlSeconds`. */
  wrap<T>(key: string, ttlSeconds: number, load: () => Promise<T>): Promise<T>;
  /**
   * Like `wrap`, for values the caller only reads (serialises into a reply): the in-process cache returns one
   * deeply frozen instance instead of a fresh copy per read, which is most of a hit's cost for a large value.
   */
  wrapShared<T>(key: string, ttlSeconds: number, load: () => Promise<T>): Promise<Readonly<T>>;
  /** A counter that `bump` raises: put it in keys to drop a whole family of entries at once. */
  generation(name: string): Promise<number>;
  bump(name: string): Promise<void>;
}

interface Counters {
  hits: Counter<'cache'>;
  misses: Counter<'cache'>;
}

/** The part of a key before its first ':' names the family in the metrics ('doctor', 'catalog', …). */
const family = (key: string) => key.split(':', 1)[0];

abstract class BaseCache implements Cache {
  abstract readonly kind: 'redis' | 'memory';
  constructor(protected readonly counters?: Counters) {}
  abstract get<T>(key: string): Promise<T | undefined>;
  abstract set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  abstract del(...keys: string[]): Promise<void>;
  abstract generation(name: string): Promise<number>;
  abstract bump(name: string): Promise<void>;
  /**
   * Marks a load of `key` as started. `del(key)` revokes it, and `setIfLeased` stores only under a live lease:
   * a load that read the database before an edit cannot store its stale value after that edit's `del`.
   */
  protected abstract lease(key: string): Promise<string | null>;
  protected abstract setIfLeased(
    key: string,
    token: string,
    value: unknown,
    ttlSeconds: number,
  ): Promise<void>;

  /** What a shared read returns; a copy unless the implementation keeps immutable values. */
  protected getShared<T>(key: string): Promise<T | undefined> {
    return this.get<T>(key);
  }

  wrap<T>(key: string, ttlSeconds: number, load: () => Promise<T>): Promise<T> {
    return this.read(key, ttlSeconds, load, (k) => this.get<T>(k));
  }

  wrapShared<T>(key: string, ttlSeconds: number, load: () => Promise<T>): Promise<Readonly<T>> {
    return this.read(key, ttlSeconds, load, (k) => this.getShared<T>(k));
  }

  private async read<T>(
    key: string,
    ttlSeconds: number,
    load: () => Promise<T>,
    get: (key: string) => Promise<T | undefined>,
  ): Promise<T> {
    const cached = await get(key);
    if (cached !== undefined) {
      this.counters?.hits.inc({ cache: family(key) });
      return cached;
    }
    this.counters?.misses.inc({ cache: family(key) });
    const token = await this.lease(key);
    const value = await load();
    if (value !== undefined && token !== null) await this.setIfLeased(key, token, value, ttlSeconds);
    return value;
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

export class MemoryCache extends BaseCache {
  readonly kind = 'memory';
  #lru: LRUCache<string, { v: unknown }>;
  #generations = new Map<string, number>();
  #leases = new Map<string, number>();
  #nextLease = 0;

  constructor(options: { max?: number; counters?: Counters } = {}) {
    super(options.counters);
    this.#lru = new LRUCache({ max: options.max ?? 5000 });
  }

  async get<T>(key: string): Promise<T | undefined> {
    // A structured clone so a caller that mutates a result cannot change what the next caller gets.
    const entry = this.#lru.get(key);
    return entry === undefined ? undefined : (structuredClone(entry.v) as T);
  }

  protected override async getShared<T>(key: string): Promise<T | undefined> {
    // Stored frozen: a caller that tries to change a shared value gets a TypeError, not a corrupted cache.
    return this.#lru.get(key)?.v as T | undefined;
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    this.#lru.set(key, { v: deepFreeze(structuredClone(value)) }, { ttl: ttlSeconds * 1000 });
  }

  async del(...keys: string[]): Promise<void> {
    for (const key of keys) {
      this.#lru.delete(key);
      this.#leases.delete(key);
    }
  }

  protected async lease(key: string): Promise<string> {
    const token = ++this.#nextLease;
    this.#leases.set(key, token);
    return String(token);
  }

  protected async setIfLeased(key: string, token: string, value: unknown, ttlSeconds: number): Promise<void> {
    if (this.#leases.get(key) !== Number(token)) return;
    this.#leases.delete(key);
    await this.set(key, value, ttlSeconds);
  }

  async generation(name: string): Promise<number> {
    return this.#generations.get(name) ?? 0;
  }

  async bump(name: string): Promise<void> {
    this.#generations.set(name, (this.#generations.get(name) ?? 0) + 1);
  }
}

/** A load slower than this may not store its result. */
const LEASE_MS = 30_000;
const SET_IF_LEASED = `if redis.call('get', KEYS[2]) == ARGV[1] then
  redis.call('set', KEYS[1], ARGV[2], 'EX', ARGV[3])
  redis.call('del', KEYS[2])
end`;

export class RedisCache extends BaseCache {
  readonly kind = 'redis';
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    counters?: Counters,
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    super(counters);
  }

  // A value and its lease share a hash tag (one Redis Cluster slot): SET_IF_LEASED and DEL touch both at once.
  private k(key: string) {
    return `${this.prefix}cache:{${key}}`;
  }

  private leaseKey(key: string) {
    return `${this.prefix}cache:lease:{${key}}`;
  }

  async get<T>(key: string): Promise<T | undefined> {
    try {
      const raw = await this.redis.get(this.k(key));
      return raw === null ? undefined : (JSON.parse(raw) as T);
    } catch (err) {
      // A cache that cannot answer is a miss; Postgres still has the truth.
      this.onError(err);
      return undefined;
    }
  }

  async set(key: string, value: unknown, ttlSeconds: number): Promise<void> {
    try {
      await this.redis.set(this.k(key), JSON.stringify(value), 'EX', Math.max(1, Math.round(ttlSeconds)));
    } catch (err) {
      this.onError(err);
    }
  }

  /** Invalidation must not be skipped silently: a failure here is thrown so the caller knows. */
  async del(...keys: string[]): Promise<void> {
    // One DEL per cache key: on a cluster, different keys live in different slots.
    await Promise.all(keys.map((key) => this.redis.del(this.k(key), this.leaseKey(key))));
  }

  protected async lease(key: string): Promise<string | null> {
    const token = randomBytes(8).toString('hex');
    try {
      await this.redis.set(this.leaseKey(key), token, 'PX', LEASE_MS);
      return token;
    } catch (err) {
      this.onError(err);
      return null;
    }
  }

  protected async setIfLeased(key: string, token: string, value: unknown, ttlSeconds: number): Promise<void> {
    try {
      await this.redis.eval(
        SET_IF_LEASED,
        2,
        this.k(key),
        this.leaseKey(key),
        token,
        JSON.stringify(value),
        Math.max(1, Math.round(ttlSeconds)),
      );
    } catch (err) {
      this.onError(err);
    }
  }

  async generation(name: string): Promise<number> {
    try {
      return Number((await this.redis.get(this.k(`gen:${name}`))) ?? 0);
    } catch (err) {
      this.onError(err);
      return -1;
    }
  }

  async bump(name: string): Promise<void> {
    await this.redis.incr(this.k(`gen:${name}`));
  }
}

export function cacheCounters(registry: Registry): Counters {
  return {
    hits: new Counter({
      name: 'cache_hits_total',
      help: 'Directory cache hits by key family',
      labelNames: ['cache'] as const,
      registers: [registry],
    }),
    misses: new Counter({
      name: 'cache_misses_total',
      help: 'Directory cache misses by key family',
      labelNames: ['cache'] as const,
      registers: [registry],
    }),
  };
}

async function cachePlugin(app: FastifyInstance): Promise<void> {
  const counters = cacheCounters(app.metrics);
  const cache: Cache = app.redis
    ? new RedisCache(app.redis, app.config.REDIS_PREFIX, counters, (err) =>
        app.log.warn({ err }, 'cache read failed; serving from the database'),
      )
    : new MemoryCache({ counters });
  app.decorate<Cache>('cache', cache);
}

export default fp(cachePlugin, { name: 'cache', dependencies: ['redis', 'metrics'] });
