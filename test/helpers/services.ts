// Which real services the tests can reach. With REQUIRE_SERVICES=1 a missing one is a failure, never a skip.
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import pg from 'pg';

export const POSTGRES_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REQUIRED = process.env.REQUIRE_SERVICES === '1';

let postgres: Promise<boolean> | undefined;
let redis: Promise<boolean> | undefined;

async function probePostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (err) {
    if (REQUIRED)
      throw new Error(`REQUIRE_SERVICES=1 but Postgres at ${POSTGRES_URL} is unreachable: ${err}`);
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function probeRedis(): Promise<boolean> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch (err) {
    if (REQUIRED) throw new Error(`REQUIRE_SERVICES=1 but Redis at ${REDIS_URL} is unreachable: ${err}`);
    return false;
  } finally {
    client.disconnect();
  }
}

export function hasPostgres(): Promise<boolean> {
  postgres ??= probePostgres();
  return postgres;
}

export function hasRedis(): Promise<boolean> {
  redis ??= probeRedis();
  return redis;
}

export type Backend = 'postgres' | 'pglite';

/** The database backends a suite runs against: PGlite always, real Postgres when reachable. */
export async function databaseBackends(): Promise<Backend[]> {
  return (await hasPostgres()) ? ['postgres', 'pglite'] : ['pglite'];
}

/**
 * The `skip` option of a suite or test that needs these services: false when all are reachable, else the
 * reason the runner prints. With REQUIRE_SERVICES=1 a missing service throws instead (a failure, not a skip).
 */
export async function skipWithout(
  ...services: ('postgres' | 'redis' | 'redis-server')[]
): Promise<false | string> {
  const missing: string[] = [];
  // Tests that start their own Redis processes (a cluster) need the binaries, not a running server.
  if (services.includes('redis-server')) {
    for (const bin of ['redis-server', 'redis-cli']) {
      if (spawnSync(bin, ['--version']).status === 0) continue;
      if (REQUIRED) throw new Error(`REQUIRE_SERVICES=1 but ${bin} is not on PATH`);
      missing.push(`${bin} on PATH`);
    }
  }
  if (services.includes('postgres') && !(await hasPostgres())) missing.push(`Postgres at ${POSTGRES_URL}`);
  if (services.includes('redis') && !(await hasRedis())) missing.push(`Redis at ${REDIS_URL}`);
  return missing.length === 0 ? false : `needs ${missing.join(' and ')}`;
}

/** Deletes every key under a prefix (tests share one Redis). */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
