// The demo history (src/modules/day/history/): weeks of closed days written as the day ledger writes them,
// so the reports over a fresh demo have figures — and the ETA shown beats the naive serial × slot estimate.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sql } from 'kysely';
import { ManualClock } from '../../src/clock.js';
import { seedDemo } from '../../src/seed.js';
import { buildTestApp } from '../helpers/app.js';

const NOW = '2025-06-04T06:30:00Z'; // 12:30 in Dhaka, a Wednesday

test('the demo seed writes four weeks of closed days with the ledger’s event shapes, and reports read them', async (t) => {
  const clock = new ManualClock(NOW);
  const { app } = await buildTestApp(t, { clock });
  const started = performance.now();
  assert.equal(await seedDemo(app), true);
  t.diagnostic(`seedDemo with history: ${Math.round(performance.now() - started)} ms`);

  const days = await app.db
    .selectFrom('sessionDays')
    .select(['id', 'status', 'version', 'date'])
    .where('date', '<', '2025-06-04')
    .execute();
  assert.ok(days.length >= 28 * 8, `${days.length} past days`);
  assert.ok(days.every((d) => d.status === 'closed'));
  // Versions run 1..version on every day, as recordQueueEvent numbers them.
  const { rows } = await sql<{ bad: number }>`
    select count(*)::int as bad from session_days d
    cross join lateral (select count(*)::int as n, max(e.version) as top from queue_events e where e.queue_id = d.id) e
    where d.date < '2025-06-04' and (d.version <> e.n or d.version <> e.top)`.execute(app.db);
  assert.equal(rows[0].bad, 0);

  // The ETA and call payloads carry the keys the ledger writes.
  const checkIn = await app.db
    .selectFrom('queueEvents')
    .select('data')
    .where('type', '=', 'checked_in')
    .limit(200)
    .execute();
  for (const e of checkIn)
    assert.deepEqual(Object.keys(e.data as object).sort(), ['etaAt', 'etaRange', 'position']);
  const called = await app.db
    .selectFrom('queueEvents')
    .select('data')
    .where('type', '=', 'called')
    .limit(50)
    .execute();
  for (const e of called)
    assert.deepEqual(Object.keys(e.data as object).sort(), ['outOfOrder', 'scheduledAt', 'waitedSeconds']);

  const sign = await app.inject({
    method: 'POST',
    url: '/v1/auth/login',
    payload: { email: 'desk@demo.carequeue.local', password: 'carequeue-demo' },
  });
  assert.equal(sign.statusCode, 200, sign.body);
  const auth = { authorization: `Bearer ${sign.json().accessToken}` };
  const month = (
    await app.inject({ url: '/v1/reports/appointments?from=2025-05-07&to=2025-06-03', headers: auth })
  ).json();
  const f = month.totals;
  assert.ok(f.byStatus.completed > 500, `${f.byStatus.completed} completed`);
  assert.ok(f.byStatus.noShow > 0 && f.walkIns > 0 && f.byStatus.cancelled > 0);
  assert.ok(f.consult.p90 > f.consult.median, 'consult times spread');
  assert.ok(f.eta.samples > 0 && f.eta.rangeSamples > 0);
  t.diagnostic(
    `demo ETA: median |error| ${f.eta.medianAbsErrorMinutes} min, inside range ${f.eta.insideRangeShare}; naive ${f.eta.naive.medianAbsErrorMinutes} min, inside ${f.eta.naive.insideRangeShare} (${f.eta.samples} calls)`,
  );
  assert.equal(month.etaByWeek.length, 5);
});
