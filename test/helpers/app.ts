// buildTestApp(t): the real app on a fresh database (and, when asked, a private Redis key prefix).
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Clock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { freshDatabase } from './database.js';
import { type Backend, deleteRedisPrefix, REDIS_URL } from './services.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256-signing';
export const TEST_ENCRYPTION_KEY = 'a'.repeat(64);

/** An in-process app on an existing Postgres database (a seeder for server processes, or a second instance). */
export async function buildAppOn(
  databaseUrl: string,
  env: Record<string, string> = {},
): Promise<FastifyInstance> {
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    SEED_DEMO: 'false',
    NOTIFY_CRON: 'false',
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...env,
  });
  const app = await buildApp(config, { logger: false });
  await app.ready();
  return app;
}

export interface TestAppOptions {
  backend?: Backend;
  /** Use the real Redis with a key prefix of its own. */
  redis?: boolean;
  /** With redis: use this key prefix (two apps sharing it count rate limits together); the caller cleans it. */
  redisPrefix?: string;
  /** Fastify logger options (e.g. with a `stream` to capture output); default off. */
  logger?: FastifyServerOptions['logger'];
  env?: Record<string, string>;
  clock?: Clock;
}

export interface TestApp {
  app: FastifyInstance;
  /** Postgres URL of this app's database (Postgres backend only). */
  databaseUrl?: string;
  redisPrefix?: string;
}

export async function buildTestApp(t: TestContext, options: TestAppOptions = {}): Promise<TestApp> {
  const backend = options.backend ?? 'pglite';
  const database = await freshDatabase(backend);
  const redisPrefix = options.redis
    ? (options.redisPrefix ?? `cqt:${randomBytes(5).toString('hex')}:`)
    : undefined;
  const config = loadConfig({
    ...(database.url ? { DATABASE_URL: database.url } : { DATA_DIR: '/nonexistent-test-data-dir' }),
    ...(redisPrefix ? { REDIS_URL, REDIS_PREFIX: redisPrefix } : {}),
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_AUTH: '10000',
    SEED_DEMO: 'false',
    // A loaded test machine lags its event loop; load shedding is tested on its own (overload.test.ts).
    MAX_EVENT_LOOP_DELAY_MS: '0',
    ...options.env,
  });
  const app = await buildApp(config, {
    database: database.handle,
    clock: options.clock,
    logger: options.logger ?? false,
  });
  t.after(async () => {
    await app.close();
    await database.cleanup();
    if (redisPrefix && !options.redisPrefix) await deleteRedisPrefix(redisPrefix);
  });
  await app.ready();
  return { app, databaseUrl: database.url, redisPrefix };
}

/** A second instance on `first`'s database and Redis prefix (first built with backend postgres and redis). */
export async function buildSiblingApp(t: TestContext, first: TestApp): Promise<FastifyInstance> {
  const app = await buildApp(
    loadConfig({
      DATABASE_URL: first.databaseUrl,
      REDIS_URL,
      REDIS_PREFIX: first.redisPrefix,
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      LOG_LEVEL: 'silent',
      SEED_DEMO: 'false',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    }),
    { logger: false },
  );
  t.after(() => app.close());
  await app.ready();
  return app;
}
