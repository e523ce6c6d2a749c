import fp from 'fastify-plugin';
import { Redis } from 'ioredis';

declare module 'fastify' {
  interface FastifyInstance {
    /** null in the embedded mode (no REDIS_URL). */
    redis: Redis | null;
  }
}

export function createRedis(url: string, onError: (err: Error) => void): Redis {
  const client = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
  client.on('error', onError);
  return client;
}

export default fp<{ url?: string }>(
  async (app, { url }) => {
    if (!url) {
      app.decorate('redis', null);
      return;
    }
    const client = createRedis(url, (err) => app.log.warn({ err }, 'redis connection error'));
    app.decorate('redis', client);
    app.addHook('onClose', async () => {
      await client.quit().catch(() => client.disconnect());
    });
  },
  { name: 'redis' },
);
