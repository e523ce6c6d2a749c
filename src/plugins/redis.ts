// The app's Redis connection: one server (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES), or none in the
// embedded mode. Every key family that a script or a multi-key command touches together shares one hash tag,
// so the same code runs on both (see README "Redis Cluster").
import fp from 'fastify-plugin';
import { Cluster, Redis } from 'ioredis';

/** A single server or a cluster: the commands the app uses behave the same on both. */
export type RedisClient = Redis | Cluster;

declare module 'fastify' {
  interface FastifyInstance {
    /** null in the embedded mode (no REDIS_URL or REDIS_CLUSTER_NODES). */
    redis: RedisClient | null;
  }
}

export interface RedisTarget {
  /** redis:// URL of one server. */
  url?: string;
  /** host:port of cluster nodes (any reachable one is enough to find the rest). */
  clusterNodes?: { host: string; port: number }[];
}

const COMMAND_OPTIONS = { maxRetriesPerRequest: 2, enableOfflineQueue: true } as const;

export function createRedis(target: RedisTarget, onError: (err: Error) => void): RedisClient | null {
  let client: RedisClient;
  if (target.clusterNodes?.length) {
    client = new Cluster(target.clusterNodes, {
      redisOptions: COMMAND_OPTIONS,
      clusterRetryStrategy: (times) => Math.min(100 * times, 2000),
      // A command for a slot whose master is down is retried (100 ms apart) this many times, then fails: the
      // default, 16, makes each command of a request wait 1.6 s and a request several seconds. A resharding's
      // MOVED/ASK needs one or two.
      maxRedirections: 3,
      // ioredis's default 1 s for connecting and CLUSTER SLOTS fails whenever start-up keeps the event loop busy.
      slotsRefreshTimeout: 5000,
    });
  } else if (target.url) {
    client = new Redis(target.url, { ...COMMAND_OPTIONS, lazyConnect: false });
  } else {
    return null;
  }
  client.on('error', onError);
  return client;
}

/**
 * A second connection to the same Redis for Socket.IO's adapter. A subscriber never gives up on a command (the
 * adapter subscribes without a catch: it waits for Redis instead of rejecting and crashing); on a cluster it
 * holds one sharded subscriber per master, which SSUBSCRIBE needs.
 */
export function duplicateRedis(client: RedisClient, role: 'pub' | 'sub'): RedisClient {
  if (client instanceof Cluster) {
    return role === 'pub'
      ? client.duplicate()
      : client.duplicate([], {
          shardedSubscribers: true,
          redisOptions: { ...COMMAND_OPTIONS, maxRetriesPerRequest: null },
        });
  }
  return role === 'pub' ? client.duplicate() : client.duplicate({ maxRetriesPerRequest: null });
}

/** Whether Redis serves commands: PONG from a server; on a cluster, a node reporting every slot served. */
export async function redisAnswers(client: RedisClient): Promise<boolean> {
  if (client instanceof Cluster) return String(await client.cluster('INFO')).includes('cluster_state:ok');
  return (await client.ping()) === 'PONG';
}

const QUIT_WAIT_MS = 2000;

/**
 * Closes a connection: QUIT lets replies in flight arrive, but an unreachable server (or a cluster's dead
 * master) never answers it, so the wait is bounded and disconnect() ends what is left.
 */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (client.status === 'ready') {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      client.quit().catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, QUIT_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
  client.disconnect();
}

export default fp<RedisTarget>(
  async (app, target) => {
    const client = createRedis(target, (err) => app.log.warn({ err }, 'redis connection error'));
    app.decorate<RedisClient | null>('redis', client);
    if (client) app.addHook('onClose', () => closeRedis(client));
  },
  { name: 'redis' },
);
