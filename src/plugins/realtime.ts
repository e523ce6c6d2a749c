// Socket.IO on the same HTTP server as the API. With Redis configured, @socket.io/redis-adapter relays every
// broadcast to the sockets of all instances (own pub and sub connections): classic pub/sub on one server,
// sharded pub/sub (Redis 7 SPUBLISH/SSUBSCRIBE, one channel per room) on a cluster; otherwise the in-memory adapter.
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Cluster } from 'ioredis';
import { Server } from 'socket.io';
import type { RealtimeServer } from '../modules/queue/queue.emitter.js';
import { closeRedis, duplicateRedis, type RedisClient } from './redis.js';

declare module 'fastify' {
  interface FastifyInstance {
    io: RealtimeServer;
  }
}

export interface RealtimeOptions {
  /** Key/channel prefix shared with the rest of the app's Redis use (config.REDIS_PREFIX). */
  prefix: string;
  /** config.CORS_ORIGINS: '*' or a comma-separated list. */
  corsOrigins: string;
}

/**
 * @socket.io/redis-adapter (8.3) fires these commands without awaiting or catching them: with Redis down,
 * each broadcast's PUBLISH rejects once ioredis gives up retrying, an unhandled rejection that
 * close-with-grace treats as fatal. A handler on each returned promise logs instead; local sockets still get
 * the broadcast (the adapter delivers locally either way), other instances resync from versions later.
 */
export function catchRejections(
  client: RedisClient,
  commands: string[],
  onError: (err: unknown) => void,
): void {
  const methods = client as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const command of commands) {
    const original = methods[command].bind(client);
    methods[command] = (...args: unknown[]) => {
      const result = original(...args);
      if (result instanceof Promise) result.catch(onError);
      return result;
    };
  }
}

async function realtimePlugin(app: FastifyInstance, opts: RealtimeOptions): Promise<void> {
  const origins = opts.corsOrigins.split(',').map((o) => o.trim());
  const io: RealtimeServer = new Server(app.server, {
    serveClient: true,
    cors: { origin: origins.includes('*') ? true : origins },
    // Client events are small JSON objects; anything big is abuse.
    maxHttpBufferSize: 16 * 1024,
    pingInterval: 25_000,
    pingTimeout: 20_000,
  });
  const connections: RedisClient[] = [];
  if (app.redis) {
    const pub = duplicateRedis(app.redis, 'pub');
    const sub = duplicateRedis(app.redis, 'sub');
    pub.on('error', (err) => app.log.warn({ err }, 'socket.io redis pub connection error'));
    sub.on('error', (err) => app.log.warn({ err }, 'socket.io redis sub connection error'));
    const lost = (err: unknown) =>
      app.log.warn({ err }, 'socket.io redis command failed; other instances miss it');
    connections.push(pub, sub);
    if (app.redis instanceof Cluster) {
      catchRejections(pub, ['spublish'], lost);
      catchRejections(sub, ['ssubscribe', 'sunsubscribe'], lost);
      io.adapter(createShardedAdapter(pub, sub, { channelPrefix: `${opts.prefix}socket.io` }));
    } else {
      catchRejections(pub, ['publish'], lost);
      catchRejections(sub, ['subscribe', 'psubscribe', 'unsubscribe', 'punsubscribe'], lost);
      io.adapter(createAdapter(pub, sub, { key: `${opts.prefix}socket.io` }));
    }
  }
  app.decorate('io', io);
  // Open websockets would keep the HTTP server from closing; drop them first, clients reconnect elsewhere.
  app.addHook('preClose', async () => {
    io.local.disconnectSockets(true);
  });
  app.addHook('onClose', async () => {
    await io.close().catch(() => {});
    await Promise.all(connections.map(closeRedis));
  });
}

export default fp(realtimePlugin, { name: 'realtime', dependencies: ['redis'] });
