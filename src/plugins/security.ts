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

/**
 * Per user when the request carries a valid access token, else per address. The token is verified, not
 * just decoded: an unverified `sub` would let anyone pick a fresh bucket for every request.
 */
export function rateLimitKey(request: FastifyRequest): string {
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (match) {
    try {
      const claims = request.server.jwt.verify<{ sub?: string }>(match[1]);
      if (claims.sub) return `u:${claims.sub}`;
    } catch {
      // An invalid token counts against the address; the route itself answers 401.
    }
  }
  return addressKey(request);
}

/** Per address, whatever the request carries: sign-in and sign-up routes, where the caller has no account yet. */
export function addressKey(request: FastifyRequest): string {
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
    // Redis unreachable: serve the request unthrottled rather than fail it (Postgres remains the guard).
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} s`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
}

export default fp(securityPlugin, { name: 'security', dependencies: ['redis', 'auth'] });
