// Fresh databases for tests: Postgres databases cloned from a migrated template (named by a hash of the
// migrations, so a changed migration makes a new one), or PGlite loaded from a migrated dump.
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { type DatabaseHandle, openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { type Backend, POSTGRES_URL } from './services.js';

const MIGRATIONS_DIR = join(import.meta.dirname, '../../migrations');

function migrationsHash(): string {
  const hash = createHash('sha256');
  for (const file of readdirSync(MIGRATIONS_DIR).sort())
    hash.update(file).update(readFileSync(join(MIGRATIONS_DIR, file)));
  return hash.digest('hex').slice(0, 12);
}

export function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

let template: Promise<string> | undefined;

function ensureTemplate(): Promise<string> {
  template ??= admin(async (client) => {
    const name = `cq_tpl_${migrationsHash()}`;
    await client.query('select pg_advisory_lock(727001)');
    try {
      const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
      if (exists.rowCount === 0) {
        const building = `${name}_build_${randomBytes(3).toString('hex')}`;
        await client.query(`create database "${building}"`);
        const { db } = await openDatabase({ url: databaseUrl(building), poolSize: 1 });
        await migrateToLatest(db);
        await db.destroy();
        await client.query(`alter database "${building}" rename to "${name}"`);
      }
    } finally {
      await client.query('select pg_advisory_unlock(727001)');
    }
    return name;
  });
  return template;
}

/** Creates an empty, migrated Postgres database; returns its URL and a drop function. */
export async function createPostgresDatabase(): Promise<{
  url: string;
  name: string;
  drop(): Promise<void>;
}> {
  const source = await ensureTemplate();
  const name = `cq_t_${randomBytes(6).toString('hex')}`;
  await admin(async (client) => {
    for (let attempt = 0; ; attempt++) {
      try {
        await client.query(`create database "${name}" template "${source}"`);
        return;
      } catch (err) {
        if (attempt >= 20 || !/being accessed by other users/.test(String(err))) throw err;
        await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
      }
    }
  });
  return {
    url: databaseUrl(name),
    name,
    drop: () =>
      admin((client) => client.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}

/** Creates an empty, unmigrated Postgres database (for start-up and migration tests). */
export async function createEmptyPostgresDatabase(): Promise<{
  url: string;
  name: string;
  drop(): Promise<void>;
}> {
  const name = `cq_e_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`create database "${name}"`));
  return {
    url: databaseUrl(name),
    name,
    drop: () =>
      admin((client) => client.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}

let dump: Promise<Blob> | undefined;

async function migratedDump(): Promise<Blob> {
  dump ??= (async () => {
    const handle = await openDatabase({ dataDir: 'memory://' });
    await migrateToLatest(handle.db);
    const blob = await (handle.pglite as PGlite).dumpDataDir('none');
    await handle.db.destroy();
    return blob;
  })();
  return dump;
}

export interface TestDatabase {
  handle: DatabaseHandle;
  /** Set for Postgres: the URL of this test's database (for child processes). */
  url?: string;
  cleanup(): Promise<void>;
}

/** A fresh migrated database of the given backend. The caller closes handle.db; cleanup drops it. */
export async function freshDatabase(backend: Backend): Promise<TestDatabase> {
  if (backend === 'pglite') {
    const handle = await openDatabase({ dataDir: 'memory://', loadDataDir: await migratedDump() });
    return { handle, cleanup: async () => {} };
  }
  const database = await createPostgresDatabase();
  const handle = await openDatabase({ url: database.url });
  return { handle, url: database.url, cleanup: database.drop };
}
