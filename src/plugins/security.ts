// Security headers, CORS, form bodies (Twilio webhooks) and rate limiting (per user when signed in, else per
// address; shared through Redis when it is configured so every instance counts together).
import cors from '@fastify/cors';
import formbody from '@fastify/formbody';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { RateCounters, rateLimitStore } from './rate-limit-store.js';

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

/** Every method the API routes use, and every request header they read beyond the CORS-safelisted ones. */
export const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
export const CORS_HEADERS = ['Authorization', 'Content-Type', 'Idempotency-Key', 'If-Match'];
const CORS_EXPOSED_HEADERS = ['ETag', 'Retry-After', 'Content-Disposition'];

/**
 * Which cross-origin callers may read answers. config.CORS_ORIGINS is '*' (any), a list (exactly those), or
 * empty (the default with DATABASE_URL): only the server's own origin, i.e. the Host it was reached at or
 * PUBLIC_URL. Same-origin pages need no CORS headers at all; this only keeps other sites out.
 */
export function corsOriginCheck(config: Pick<Config, 'CORS_ORIGINS' | 'PUBLIC_URL'>) {
  if (config.CORS_ORIGINS === '*') return (_origin: string, _host: string) => true;
  const listed = new Set(
    config.CORS_ORIGINS.split(',')
      .map((o) => o.trim().replace(/\/$/, ''))
      .filter(Boolean),
  );
  if (listed.size > 0) return (origin: string, _host: string) => listed.has(origin);
  const publicOrigin = new URL(config.PUBLIC_URL).origin;
  return (origin: string, host: string) => origin === publicOrigin || hostOf(origin) === host.toLowerCase();
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host;
  } catch {
    return null;
  }
}

const HELMET: FastifyHelmetOptions = {
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
};

/**
 * The headers @fastify/helmet sends with `options`, taken once from a throwaway instance: the plugin builds
 * helmet's middleware again on every request, and for a configuration without nonces the headers it sets
 * never change.
 */
export async function helmetHeaders(options: FastifyHelmetOptions): Promise<Record<string, string>> {
  const probe = Fastify({ logger: false });
  await probe.register(helmet, options);
  probe.get('/with', async () => '');
  probe.get('/without', { helmet: false }, async () => '');
  try {
    const [withHelmet, without] = await Promise.all([probe.inject('/with'), probe.inject('/without')]);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(withHelmet.headers))
      if (without.headers[name] === undefined && value !== undefined) headers[name] = String(value);
    return headers;
  } finally {
    await probe.close();
  }
}

async function securityPlugin(app: FastifyInstance, opts: { config: Config }): Promise<void> {
  const { config } = opts;
  const securityHeaders = await helmetHeaders(HELMET);
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(securityHeaders);
    done();
  });
  const allowed = corsOriginCheck(config);
  await app.register(cors, {
    delegator: (request, callback) => {
      const origin = request.headers.origin;
      const ok = origin !== undefined && allowed(origin, request.host ?? '');
      callback(null, {
        // '*' only when any origin is allowed; else the one allowed origin, or none at all (the browser refuses).
        origin: config.CORS_ORIGINS === '*' ? '*' : ok ? origin : [],
        methods: CORS_METHODS,
        allowedHeaders: CORS_HEADERS,
        exposedHeaders: CORS_EXPOSED_HEADERS,
        credentials: false,
        maxAge: 600,
      });
    },
  });
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  const counters = app.redis
    ? new RateCounters(app.redis, (err) =>
        app.log.warn({ err }, 'rate limit counts not shared through Redis'),
      )
    : null;
  if (counters) app.addHook('onClose', async () => counters.stop());
  await app.register(rateLimit, {
    global: false,
    keyGenerator: rateLimitKey,
    ...(counters ? { store: rateLimitStore(counters, `${config.REDIS_PREFIX}rl:`) } : {}),
    // Redis unreachable: serve the request unthrottled rather than fail it (Postgres remains the guard).
    skipOnError: true,
    errorResponseBuilder: (_request, context) =>
      new AppError('RATE_LIMITED', `Too many requests; try again in ${Math.ceil(context.ttl / 1000)} s`, {
        retryAfterSeconds: Math.ceil(context.ttl / 1000),
      }),
  });
}

export default fp(securityPlugin, { name: 'security', dependencies: ['redis', 'auth'] });
