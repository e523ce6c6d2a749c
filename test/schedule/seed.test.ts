import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import { seedDemo } from '../../src/seed.js';
import { buildTestApp } from '../helpers/app.js';

test('the demo seed gives every verified doctor a sitting every day and today a live queue with bookings', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'cq-sched-seed-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  // 18:30 in Dhaka on a Wednesday: late in the demo day, still inside the sitting.
  const clock = new ManualClock('2025-06-04T12:30:00Z');
  const { app } = await buildTestApp(t, { env: { DATA_DIR: dataDir }, clock });
  assert.equal(await seedDemo(app), true);
  const doctors = await app.db
    .selectFrom('doctors')
    .select('id')
    .where('verifiedAt', 'is not', null)
    .execute();
  for (const d of doctors) {
    const sessions = (await app.inject({ url: `/v1/doctors/${d.id}/sessions` })).json().items;
    const weekdays = new Set(sessions.map((s: { weekday: number }) => s.weekday));
    assert.equal(weekdays.size, 7, `doctor ${d.id} sits every weekday`);
  }
  const rahman = await app.db
    .selectFrom('doctors')
    .innerJoin('users', 'users.id', 'doctors.userId')
    .select('doctors.id')
    .where('users.email', '=', 'dr.rahman@demo.carequeue.local')
    .executeTakeFirstOrThrow();
  const today = (
    await app.inject({ url: `/v1/doctors/${rahman.id}/availability?from=2025-06-04&to=2025-06-04` })
  ).json().items;
  assert.equal(today.length, 1);
  assert.equal(today[0].booked, 12);
  assert.ok(today[0].remaining > 0);
});
