// Opens the database: a pg pool on DATABASE_URL, or embedded PGlite in DATA_DIR.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { CamelCasePlugin, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';
import { PGlitePool } from './pglite-pool.js';
import { PreparingPool } from './prepared-pool.js';

const INT8 = 20;
const DATE = 1082;

export interface DatabaseOptions {
  /** postgres:// URL; absent → PGlite. */
  url?: string;
  /** PGlite data directory, or 'memory://' for a throwaway database. */
  dataDir?: string;
  /** A PGlite data dump (from dumpDataDir) to start from, used by tests. */
  loadDataDir?: Blob;
  /** Postgres connections at once. @default 20 */
  poolSize?: number;
  /** How long a query waits for a free connection before failing (503); a burst waits this long. @default 30000 */
  poolWaitMs?: number;
  /** How long opening one new connection may take (Postgres down or unreachable fails this fast). @default 5000 */
  connectTimeoutMs?: number;
}

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: 'postgres' | 'pglite';
  pglite?: PGlite;
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  const plugins = [new CamelCasePlugin()];
  if (options.url) {
    // Counts come back as int8; our counts fit in a double. Dates stay 'YYYY-MM-DD' local dates.
    const types = {
      getTypeParser(oid: number, format?: 'text' | 'binary') {
        if (oid === INT8) return (v: string) => Number(v);
        if (oid === DATE) return (v: string) => v;
        return pg.types.getTypeParser(oid, format);
      },
    };
    // Two bounds: a burst waits its turn for a connection (poolWaitMs, checked by PreparingPool, which never
    // asks pg for more than `max` at once), while opening a connection to a Postgres that is down fails fast.
    const size = options.poolSize ?? 20;
    const pool = new pg.Pool({
      connectionString: options.url,
      max: size,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      types,
      // The named (PREPARED) statements are the hot primary-key paths: planned once per connection, not at
      // every bind (the booking's ten-table message context cost ~4 ms of planning per booking under load).
      // Unnamed statements are planned at bind with their values, whatever this says.
      options: '-c plan_cache_mode=force_generic_plan',
    });
    // An idle client that loses its server must not crash the process; the next query reports it.
    pool.on('error', () => {});
    const preparing = new PreparingPool(pool, { size, waitMs: options.poolWaitMs ?? 30_000 });
    return {
      db: new Kysely<Database>({ dialect: new PostgresDialect({ pool: preparing }), plugins }),
      kind: 'postgres',
    };
  }
  const dataDir = options.dataDir ?? 'memory://';
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create({
    dataDir: dataDir.startsWith('memory://') ? undefined : join(dataDir, 'pglite'),
    loadDataDir: options.loadDataDir,
    extensions: { citext, pg_trgm, btree_gist },
    parsers: { [DATE]: (v: string) => v },
  });
  const pool = new PGlitePool(pglite);
  return {
    db: new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins }),
    kind: 'pglite',
    pglite,
  };
}
