// Migration numbers are handed out ahead of time, so one may land after a higher one already ran somewhere:
// the database that ran up to 0019 without 0018 gets 0018 at its next start instead of refusing to start.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Migrator, sql } from 'kysely';
import { migrations } from '../../migrations/index.js';
import { openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';

test('a migration that lands after a higher-numbered one already ran is applied at the next start', async (t) => {
  const { db } = await openDatabase({ dataDir: 'memory://' });
  t.after(() => db.destroy());
  const { '0018_blobs': _late, ...earlier } = migrations;
  const { error } = await new Migrator({
    db,
    provider: { getMigrations: async () => earlier },
  }).migrateToLatest();
  assert.equal(error, undefined);
  assert.deepEqual(await migrateToLatest(db), ['0018_blobs']);
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from blobs`.execute(db);
  assert.equal(rows[0].n, 0);
});
