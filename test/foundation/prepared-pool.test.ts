// The pg pool wrapper that runs marked queries as named prepared statements. Postgres only: PGlite runs in
// process and has no per-connection statement cache, so the wrapper is not used there.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { openDatabase } from '../../src/db/connect.js';
import type { Database } from '../../src/db/database.js';
import { PREPARED } from '../../src/db/prepared-pool.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { skipWithout } from '../helpers/services.js';

/** Names of the prepared statements the session serving this query holds, as the server sees them. */
async function preparedNames(db: Kysely<Database>): Promise<string[]> {
  return db.connection().execute(async (conn) => {
    const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(conn);
    return rows.map((r) => r.name);
  });
}

describe('prepared statements on Postgres', { skip: await skipWithout('postgres') }, () => {
  let db: Kysely<Database>;
  let drop: () => Promise<void>;

  before(async () => {
    const database = await createPostgresDatabase();
    drop = database.drop;
    // One connection, so every query below meets the same server session.
    ({ db } = await openDatabase({ url: database.url, poolSize: 1 }));
  });
  after(async () => {
    await db.destroy();
    await drop();
  });

  test('a marked query is prepared once per connection and reused with new parameters', async () => {
    const square = (n: number) =>
      sql<{ n: number }>`${sql.raw(PREPARED)}select ${n}::int * ${n}::int as n`.execute(db);
    assert.equal((await square(3)).rows[0].n, 9);
    assert.equal((await square(12)).rows[0].n, 144, 'the second run binds its own values');
    const names = (await preparedNames(db)).filter((n) => n.startsWith('cq_'));
    assert.equal(names.length, 1, `one statement for one query text, got ${names}`);
    await sql`select 1`.execute(db);
    assert.equal(
      (await preparedNames(db)).filter((n) => n.startsWith('cq_')).length,
      1,
      'unmarked queries are not prepared',
    );
  });

  test('a marked query inside a transaction sees the transaction', async () => {
    await db.transaction().execute(async (trx) => {
      await sql`create temporary table scratch (v int) on commit drop`.execute(trx);
      await sql`insert into scratch values (41)`.execute(trx);
      const { rows } = await sql<{ v: number }>`${sql.raw(PREPARED)}select v + 1 as v from scratch`.execute(
        trx,
      );
      assert.deepEqual(rows, [{ v: 42 }]);
    });
  });

  test('a connection that has prepared many statement texts is replaced, freeing them', async () => {
    const before = (await preparedNames(db)).filter((n) => n.startsWith('cq_')).length;
    for (let i = 0; i < 205; i++) await sql`${sql.raw(`${PREPARED}select ${i} as i`)}`.execute(db);
    const left = (await preparedNames(db)).filter((n) => n.startsWith('cq_')).length;
    assert.ok(left < before + 205, `the statements went with their connection (held ${left})`);
    assert.ok(left <= 200, `never more than the bound on one connection (held ${left})`);
    const { rows } = await sql<{ ok: number }>`${sql.raw(PREPARED)}select 1 as ok`.execute(db);
    assert.deepEqual(rows, [{ ok: 1 }], 'the replacement connection serves marked queries');
  });
});
