// Security headers, CORS, form bodies (Twilio webhooks) and rate limiting (per user when signed in, else per
// address; shared through Redis when it is configured so every instance counts together).
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

export function rateLimitKey(request: FastifyRequest): string {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (match) {
    const claims = request.server.jwt.decode<{ sub?: string }>(match[1]);
    if (claims?.sub) return `u:${claims.sub}`;
  }
  return `ip:${request.ip}`;
}

async function securityPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { config } = opts;
  await app.register(helmet, {
    // The pages load their own module scripts and connect back for Socket.IO; nothing from elsewhere.
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'", 'ws:', 'wss:'],
      },
    },
  });
  const origins = config.CORS_ORIGINS.split(',').map((o) => o.trim());
  await app.register(cors, { origin: origins.includes('*') ? true : origins, credentials: false });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(rateLimit, {
    global: false,
    keyGenerator: rateLimitKey,
    ...(app.redis ? { redis: app.redis, nameSpace: `${config.REDIS_PREFIX}rl:` } : {}),
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} s`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
}

export default fp(securityPlugin, { name: 'security', dependencies: ['redis', 'auth'] });
