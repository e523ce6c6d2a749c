// Call-next picks the head of the waiting line through the partial index appointments_waiting_line_idx
// (migrations/0003), so its cost does not grow with the day's appointments.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { sql } from 'kysely';
import { firstWaiting, firstWaitingQuery } from '../../src/modules/day/day.repository.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';
import { queueFixture } from './ops.fixtures.js';

const ROWS = 5000;

/** Every plan node, depth first. */
function nodes(plan: Record<string, unknown>): Record<string, unknown>[] {
  const children = (plan.Plans as Record<string, unknown>[] | undefined) ?? [];
  return [plan, ...children.flatMap(nodes)];
}

for (const backend of await databaseBackends()) {
  describe(`the waiting line in Postgres (${backend})`, () => {
    test('call-next reads the head through appointments_waiting_line_idx, in queue order', async (t) => {
      const { app } = await buildTestApp(t, { backend });
      const f = await queueFixture(app, { count: 0 });
      const queue = await app.db
        .selectFrom('sessionDays')
        .select(['doctorId', 'date'])
        .where('id', '=', f.queueId)
        .executeTakeFirstOrThrow();
      // A long day: most of it finished, a waiting line of mixed priorities, equal keys for the id tie-break.
      await sql`
        insert into appointments (queue_id, doctor_id, date, serial, priority, position_key, status,
                                  estimated_at, tracking_token_hash)
        select ${f.queueId}, ${queue.doctorId}, ${queue.date}, n,
               case when n % 997 = 0 then 2 else 0 end,
               case when n in (4001, 4002) then 3999.5 else n end,
               case when n <= 4000 then 'completed' when n % 10 = 0 then 'cancelled' else 'booked' end,
               now(), md5(n::text)
        from generate_series(1, ${ROWS}) as n`.execute(app.db);
      await sql`analyze appointments`.execute(app.db);
      const [explained] = await firstWaitingQuery(app.db, f.queueId).explain('json');
      const plan = (explained['QUERY PLAN'] as { Plan: Record<string, unknown> }[])[0].Plan;
      const scans = nodes(plan).filter((n) => String(n['Node Type']).includes('Scan'));
      assert.deepEqual(
        scans.map((n) => [n['Node Type'], n['Index Name']]),
        [['Index Scan', 'appointments_waiting_line_idx']],
        JSON.stringify(plan),
      );
      // Priority 2 first (the highest band: serial 4985 is the only one still waiting), then key, then id.
      const head = await app.db.transaction().execute((trx) => firstWaiting(trx, f.queueId));
      assert.equal(head?.serial, 4985);
      await sql`update appointments set status = 'called' where queue_id = ${f.queueId} and serial = 4985`.execute(
        app.db,
      );
      const tied = await app.db
        .selectFrom('appointments')
        .select(['id', 'serial'])
        .where('queueId', '=', f.queueId)
        .where('serial', 'in', [4001, 4002])
        .orderBy('id')
        .execute();
      const next = await app.db.transaction().execute((trx) => firstWaiting(trx, f.queueId));
      assert.equal(next?.serial, tied[0].serial, 'equal keys: the smaller id, as the projection orders them');
    });
  });
}
