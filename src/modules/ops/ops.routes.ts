import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import { errorBody } from '../../plugins/errors.js';
import { redisAnswers } from '../../plugins/redis.js';

const ReadySchema = Type.Object({
  ready: Type.Boolean(),
  checks: Type.Object({ postgres: Type.Boolean(), redis: Type.Union([Type.Boolean(), Type.Null()]) }),
});

async function withTimeout<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timeout')), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const opsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/health',
    {
      schema: {
        tags: ['ops'],
        summary: 'The process is alive',
        response: { 200: Type.Object({ ok: Type.Boolean() }) },
      },
    },
    async () => ({ ok: true }),
  );

  app.get(
    '/ready',
    {
      schema: {
        tags: ['ops'],
        summary: 'Postgres (and Redis, when configured) answer; 503 UNAVAILABLE otherwise',
        response: { 200: ReadySchema, 503: Type.Unknown() },
      },
    },
    async (_request, reply) => {
      const postgres = await withTimeout(sql`select 1`.execute(app.db), 2000).then(
        () => true,
        () => false,
      );
      const redis = app.redis
        ? await withTimeout(redisAnswers(app.redis), 2000).then(
            (ok) => ok,
            () => false,
          )
        : null;
      const ready = postgres && redis !== false;
      if (!ready) {
        return reply.status(503).send({
          ...errorBody('UNAVAILABLE', 'Not ready: a backing service is unreachable'),
          details: { postgres, redis },
        });
      }
      return { ready, checks: { postgres, redis } };
    },
  );
};

export default opsRoutes;
