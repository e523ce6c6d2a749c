// Which version each live queue is at, as this instance has heard: lets the public reads (the guest snapshot,
// /track) answer from their per-version memory without asking Redis on every request. The instance that applies
// a change to the projection announces its version on one Redis channel, which every instance hears. While
// that subscription is not up (starting, Redis reconnecting) nothing is known and the reads ask Redis, as they
// do for a queue not heard of since.
import type { FastifyBaseLogger } from 'fastify';
import { LRUCache } from 'lru-cache';
import { duplicateRedis, type RedisClient as Redis } from '../../plugins/redis.js';

export interface QueueVersionsOptions {
  /** The shared connection (announcements are published on it); null in the embedded mode. */
  redis: Redis | null;
  channel: string;
  log: FastifyBaseLogger;
}

export class QueueVersions {
  readonly #known = new LRUCache<string, number>({ max: 50_000 });
  readonly #redis: Redis | null;
  readonly #channel: string;
  readonly #log: FastifyBaseLogger;
  readonly #subscriber: Redis | null;
  /** Without Redis this process makes every change, so it hears them all. */
  #live: boolean;
  /** Raised whenever the subscription goes down: a read begun before must not record what it read. */
  #epoch = 0;

  constructor(options: QueueVersionsOptions) {
    this.#redis = options.redis;
    this.#channel = options.channel;
    this.#log = options.log;
    this.#live = options.redis === null;
    this.#subscriber = options.redis ? duplicateRedis(options.redis, 'pub') : null;
    this.#subscriber?.on('error', (err) => this.#log.warn({ err }, 'queue version channel error'));
    this.#subscriber?.on('close', () => this.#down());
    this.#subscriber?.on('ready', () => {
      this.#subscriber?.subscribe(this.#channel).then(
        () => {
          // Whatever was heard before may have missed announcements: start from nothing.
          this.#known.clear();
          this.#epoch++;
          this.#live = true;
        },
        (err) => this.#log.warn({ err }, 'queue version channel not subscribed'),
      );
    });
    this.#subscriber?.on('message', (_channel: string, message: string) => {
      const at = message.lastIndexOf(':');
      this.#raise(message.slice(0, at), Number(message.slice(at + 1)));
    });
  }

  /** The latest version heard for `queueId`, or undefined when the reads must ask the projection. */
  current(queueId: string): number | undefined {
    return this.#live ? this.#known.get(queueId) : undefined;
  }

  /** Marks a read of the projection about to start; pass the mark to `record` with what it read. */
  mark(): number | null {
    return this.#live ? this.#epoch : null;
  }

  /** What a read begun at `mark` found, kept only if no announcement can have been missed meanwhile. */
  record(mark: number | null, queueId: string, version: number): void {
    if (mark !== null && mark === this.#epoch && this.#live) this.#raise(queueId, version);
  }

  /** The projection of `queueId` now holds `version`: this instance knows at once, the others when they hear. */
  announce(queueId: string, version: number): void {
    this.#raise(queueId, version);
    this.#redis
      ?.publish(this.#channel, `${queueId}:${version}`)
      .catch((err) => this.#log.warn({ err, queueId }, 'queue version not announced'));
  }

  async close(): Promise<void> {
    this.#down();
    const subscriber = this.#subscriber;
    if (!subscriber) return;
    // quit() on a connection that never came up would wait in the offline queue for one that never comes.
    if (subscriber.status === 'ready') await subscriber.quit().catch(() => subscriber.disconnect());
    else subscriber.disconnect();
  }

  #raise(queueId: string, version: number): void {
    if (!Number.isInteger(version)) return;
    if (version > (this.#known.get(queueId) ?? -1)) this.#known.set(queueId, version);
  }

  #down(): void {
    if (this.#redis === null) return;
    this.#live = false;
    this.#epoch++;
    this.#known.clear();
  }
}
