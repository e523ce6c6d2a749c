// The @fastify/rate-limit store when Redis is configured, so that every instance counts a client together.
// Small budgets (sign-in, booking, check-in: a few dozen a minute) are counted in Redis on every request, so
// the limit is exact across instances. Large budgets (the public reads every phone polls) are counted here
// first and shared through Redis in one batch every FLUSH_MS: such a request costs no Redis round trip. Once a
// client has used half its budget (as this instance knows it) its requests are counted in Redis again, so it
// meets its limit on every instance; only what the other instances admitted in their last flush interval
// can get past it.
import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { LRUCache } from 'lru-cache';
import type { RedisClient as Redis } from './redis.js';

/** A budget of at least this many requests per window is counted here first and shared in batches. */
export const LOCAL_FIRST_MIN_MAX = 100;
/** How often the counts taken here are added to Redis (and the other instances' counts learnt). */
export const FLUSH_MS = 100;
/** Counters per script call, so one flush never holds Redis for long. */
const BATCH_KEYS = 500;

/** KEYS: counters. ARGV: for each, the increment and the window in ms. Returns {count, ttl ms} for each. */
const COUNT_LUA = `local out = {}
for i, key in ipairs(KEYS) do
  local n = tonumber(ARGV[2 * i - 1])
  local count = redis.call('INCRBY', key, n)
  if count == n then redis.call('PEXPIRE', key, ARGV[2 * i]) end
  out[i] = {count, redis.call('PTTL', key)}
end
return out`;

/** KEYS[1]: a counter, read without counting. */
const READ_LUA = `local count = redis.call('GET', KEYS[1])
if not count then return {0, 0} end
return {tonumber(count), redis.call('PTTL', KEYS[1])}`;

type Reply = [count: number, ttl: number];
type RateClient = Redis & {
  careQueueRateCount(keys: number, ...args: (string | number)[]): Promise<Reply[]>;
  careQueueRateRead(key: string): Promise<Reply>;
};

interface Counter {
  /** When this window ends (ms since the epoch), as Redis last said. */
  resetAt: number;
  window: number;
  /** All instances' count at the last flush, ours included. */
  known: number;
  /** Counted here and sent in the flush under way. */
  sending: number;
  /** Counted here since then. */
  pending: number;
}

interface State {
  current: number;
  ttl: number;
}

type Callback = (error: Error | null, result?: State) => void;

/** The counters taken here and their batched flush to Redis; one per app, shared by every route's store. */
export class RateCounters {
  readonly #redis: RateClient;
  readonly #local = new LRUCache<string, Counter>({ max: 100_000 });
  readonly #dirty = new Map<string, Counter>();
  #timer: NodeJS.Timeout | null = null;
  #flushing = false;
  #stopped = false;

  constructor(
    redis: Redis,
    private readonly onError: (err: unknown) => void,
  ) {
    if (typeof (redis as unknown as Partial<RateClient>).careQueueRateCount !== 'function') {
      redis.defineCommand('careQueueRateCount', { lua: COUNT_LUA });
      redis.defineCommand('careQueueRateRead', { numberOfKeys: 1, lua: READ_LUA });
    }
    this.#redis = redis as RateClient;
  }

  /** Counts one request in Redis now. */
  async countShared(key: string, window: number): Promise<State> {
    const [[current, ttl]] = await this.#redis.careQueueRateCount(1, key, 1, window);
    return { current, ttl: Math.max(ttl, 0) };
  }

  /**
   * Counts one request here, Redis hearing of it at the next flush; past half the budget in Redis at once
   * (learning the other instances' counts with it), so a client nearing its limit meets it on every instance.
   */
  countHere(key: string, window: number, max: number): State | Promise<State> {
    const now = Date.now();
    const counter = this.#counter(key, window, now);
    if (counter.known + counter.sending + counter.pending >= max / 2) return this.#countNow(key, counter);
    counter.pending++;
    this.#dirty.set(key, counter);
    this.#schedule();
    return { current: counter.known + counter.sending + counter.pending, ttl: counter.resetAt - now };
  }

  async #countNow(key: string, counter: Counter): Promise<State> {
    const state = await this.countShared(key, counter.window);
    counter.known = Math.max(counter.known, state.current);
    if (state.ttl > 0) counter.resetAt = Date.now() + state.ttl;
    return { current: counter.known + counter.sending + counter.pending, ttl: state.ttl };
  }

  /** The count so far without counting: as Redis has it, or as known here for a budget counted here. */
  async read(key: string, here: boolean): Promise<State> {
    if (!here) {
      const [current, ttl] = await this.#redis.careQueueRateRead(key);
      return { current, ttl: Math.max(ttl, 0) };
    }
    const now = Date.now();
    const counter = this.#local.get(key);
    if (!counter || counter.resetAt <= now) return { current: 0, ttl: 0 };
    return { current: counter.known + counter.sending + counter.pending, ttl: counter.resetAt - now };
  }

  /** Stops flushing (the app is closing); counts not yet sent are dropped with the process. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #counter(key: string, window: number, now: number): Counter {
    const counter = this.#local.get(key);
    if (counter && counter.resetAt > now) return counter;
    const fresh = { resetAt: now + window, window, known: 0, sending: 0, pending: 0 };
    this.#local.set(key, fresh, { ttl: window });
    return fresh;
  }

  #schedule(): void {
    if (this.#timer || this.#flushing || this.#stopped) return;
    this.#timer = setTimeout(() => void this.#flush(), FLUSH_MS);
    this.#timer.unref();
  }

  async #flush(): Promise<void> {
    this.#timer = null;
    this.#flushing = true;
    const batch = [...this.#dirty];
    this.#dirty.clear();
    try {
      for (let i = 0; i < batch.length && !this.#stopped; i += BATCH_KEYS)
        await this.#send(batch.slice(i, i + BATCH_KEYS));
    } finally {
      this.#flushing = false;
      if (this.#dirty.size) this.#schedule();
    }
  }

  async #send(batch: [string, Counter][]): Promise<void> {
    const args: (string | number)[] = [];
    for (const [, counter] of batch) {
      counter.sending = counter.pending;
      counter.pending = 0;
      args.push(counter.sending, counter.window);
    }
    try {
      const replies = await this.#redis.careQueueRateCount(
        batch.length,
        ...batch.map(([key]) => key),
        ...args,
      );
      const now = Date.now();
      for (const [i, [, counter]] of batch.entries()) {
        const [count, ttl] = replies[i];
        counter.known = count;
        if (ttl > 0) counter.resetAt = now + ttl;
        counter.sending = 0;
      }
    } catch (err) {
      // Redis unreachable: keep counting here, so each instance still holds its clients to the limit.
      for (const [, counter] of batch) {
        counter.known += counter.sending;
        counter.sending = 0;
      }
      this.onError(err);
    }
  }
}

/**
 * The store class @fastify/rate-limit instantiates. Budgets of LOCAL_FIRST_MIN_MAX or more are counted with
 * `countHere` under keys hash-tagged `{rl}` (one flush is one script call, which Redis Cluster allows only
 * within one slot); smaller budgets with `countShared`.
 */
export function rateLimitStore(counters: RateCounters, namespace: string): FastifyRateLimitStoreCtor {
  class SharedStore implements FastifyRateLimitStore {
    constructor(
      _options?: unknown,
      private readonly route = '',
    ) {}

    #key(key: string, here: boolean): string {
      return here ? `${namespace}{rl}:${this.route}${key}` : `${namespace}${this.route}${key}`;
    }

    incr(key: string, callback: Callback, timeWindow: number, max: number): void {
      const here = max >= LOCAL_FIRST_MIN_MAX;
      const counted = here
        ? counters.countHere(this.#key(key, true), timeWindow, max)
        : counters.countShared(this.#key(key, false), timeWindow);
      if (!(counted instanceof Promise)) {
        callback(null, counted);
        return;
      }
      counted.then(
        (state) => callback(null, state),
        (err: Error) => callback(err),
      );
    }

    read(key: string, callback: Callback, _timeWindow: number, max: number): void {
      const here = max >= LOCAL_FIRST_MIN_MAX;
      counters.read(this.#key(key, here), here).then(
        (state) => callback(null, state),
        (err: Error) => callback(err),
      );
    }

    /** The plugin passes the route's merged limit options, with the route itself as `routeInfo`. */
    child(options: object): FastifyRateLimitStore {
      const { routeInfo } = options as { routeInfo?: { method?: string; url?: string } };
      const { method = '', url = '' } = routeInfo ?? {};
      return new SharedStore(undefined, `${this.route}${method}${url}-`);
    }
  }
  return SharedStore;
}
