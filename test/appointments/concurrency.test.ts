// Real Postgres, two app instances on one database: serials are never duplicated and capacity never exceeded.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { buildTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { hasPostgres } from '../helpers/services.js';
import { type FastPatient, makeDoctor, makeHospital, makePatients, makeSession } from './fixtures.js';

const MONDAY_9AM = '2025-06-02T03:00:00Z';
const TUESDAY = '2025-06-03';
const NEXT_TUESDAY = '2025-06-10';

async function twoInstances(t: TestContext) {
  const clock = new ManualClock(MONDAY_9AM);
  // Registered first so it runs first: the second instance closes before the database is dropped.
  let second: FastifyInstance | undefined;
  t.after(() => second?.close());
  const { app, databaseUrl } = await buildTestApp(t, { backend: 'postgres', clock });
  const config = loadConfig({
    DATABASE_URL: databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    SEED_DEMO: 'false',
  });
  second = await buildApp(config, { clock, logger: false });
  await second.ready();
  const hospitalId = await makeHospital(app);
  const doctor = await makeDoctor(app);
  return { apps: [app, second] as FastifyInstance[], app, clock, hospitalId, doctor };
}

function book(app: FastifyInstance, p: FastPatient, payload: Record<string, unknown>, headers = {}) {
  return app.inject({ method: 'POST', url: '/v1/appointments', headers: { ...p.auth, ...headers }, payload });
}

const postgres = await hasPostgres();

describe('booking under concurrency [postgres]', { skip: !postgres && 'needs Postgres' }, () => {
  test('500 concurrent bookings into 100 places across two instances: exactly 100, serials 1..100', async (t) => {
    const w = await twoInstances(t);
    const sessionId = await makeSession(w.app, {
      doctorId: w.doctor.doctorId,
      hospitalId: w.hospitalId,
      weekday: 2,
      start: '08:00',
      end: '18:00',
      slotMinutes: 5,
      capacity: 100,
    });
    const patients = await makePatients(w.app, 500);
    const results = await Promise.all(
      patients.map((p, i) => book(w.apps[i % 2], p, { sessionId, date: TUESDAY })),
    );
    const ok = results.filter((r) => r.statusCode === 201).map((r) => r.json());
    const full = results.filter((r) => r.statusCode === 409 && r.json().code === 'SESSION_FULL');
    assert.equal(ok.length, 100);
    assert.equal(
      full.length,
      400,
      `others: ${results
        .filter((r) => r.statusCode !== 201 && r.statusCode !== 409)
        .map((r) => r.body)
        .slice(0, 3)}`,
    );
    assert.deepEqual(
      ok.map((b) => b.serial).sort((a, b) => a - b),
      Array.from({ length: 100 }, (_, i) => i + 1),
    );
    const rows = await w.app.db
      .selectFrom('appointments')
      .select(['serial'])
      .where('date', '=', TUESDAY)
      .execute();
    assert.equal(rows.length, 100);
    const day = await w.app.db
      .selectFrom('sessionDays')
      .select(['bookedCount', 'nextSerial', 'version'])
      .executeTakeFirstOrThrow();
    assert.deepEqual(day, { bookedCount: 100, nextSerial: 101, version: 100 });
  });

  test('one patient firing 20 concurrent bookings gets exactly one', async (t) => {
    const w = await twoInstances(t);
    const sessionId = await makeSession(w.app, {
      doctorId: w.doctor.doctorId,
      hospitalId: w.hospitalId,
      weekday: 2,
    });
    const evening = await makeSession(w.app, {
      doctorId: w.doctor.doctorId,
      hospitalId: w.hospitalId,
      weekday: 2,
      start: '17:00',
      end: '20:00',
    });
    const [p] = await makePatients(w.app, 1);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        book(w.apps[i % 2], p, { sessionId: i % 4 === 3 ? evening : sessionId, date: TUESDAY }),
      ),
    );
    const codes = results.map((r) => (r.statusCode === 201 ? 'ok' : r.json().code));
    assert.equal(codes.filter((c) => c === 'ok').length, 1, codes.join(','));
    assert.equal(codes.filter((c) => c === 'ALREADY_BOOKED').length, 19, codes.join(','));
    const rows = await w.app.db.selectFrom('appointments').select('id').execute();
    assert.equal(rows.length, 1);
  });

  test('concurrent retries with one Idempotency-Key return the same appointment, even when it took the last place', async (t) => {
    const w = await twoInstances(t);
    const sessionId = await makeSession(w.app, {
      doctorId: w.doctor.doctorId,
      hospitalId: w.hospitalId,
      weekday: 2,
      capacity: 1,
    });
    const [p] = await makePatients(w.app, 1);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        book(w.apps[i % 2], p, { sessionId, date: TUESDAY }, { 'idempotency-key': 'tap-tap-tap' }),
      ),
    );
    assert.deepEqual(
      results.map((r) => (r.statusCode === 201 ? 201 : r.body)),
      Array(20).fill(201),
    );
    assert.equal(new Set(results.map((r) => r.json().id)).size, 1);
    const rows = await w.app.db.selectFrom('appointments').select('id').execute();
    assert.equal(rows.length, 1);
  });

  test('time off and a session deletion racing 200 bookings leave no active booking behind them', async (t) => {
    const w = await twoInstances(t);
    const sessionId = await makeSession(w.app, {
      doctorId: w.doctor.doctorId,
      hospitalId: w.hospitalId,
      weekday: 2,
      start: '08:00',
      end: '18:00',
      slotMinutes: 5,
      capacity: 120,
    });
    const patients = await makePatients(w.app, 200);
    const half = patients.length / 2;
    const results = await Promise.all([
      ...patients.map((p, i) =>
        book(w.apps[i % 2], p, { sessionId, date: i < half ? TUESDAY : NEXT_TUESDAY }),
      ),
      w.apps[1].inject({
        method: 'POST',
        url: `/v1/doctors/${w.doctor.doctorId}/time-off`,
        headers: w.doctor.auth,
        payload: { from: TUESDAY, to: TUESDAY, reason: 'away' },
      }),
      w.apps[0].inject({
        method: 'DELETE',
        url: `/v1/sessions/${sessionId}?cancelAffected=true`,
        headers: w.doctor.auth,
      }),
    ]);
    const bookings = results.slice(0, patients.length);
    const [timeOff, deleted] = results.slice(patients.length);
    assert.equal(timeOff.statusCode, 201, timeOff.body);
    assert.ok([200, 204].includes(deleted.statusCode), deleted.body);
    for (const r of bookings) {
      if (r.statusCode === 201) continue;
      assert.ok([404, 409, 422].includes(r.statusCode), r.body);
    }
    const active = await w.app.db
      .selectFrom('appointments')
      .select(['id', 'date', 'status'])
      .where('status', '!=', 'cancelled')
      .execute();
    assert.deepEqual(active, [], 'every booking that got in was cancelled by the change that followed it');
    const days = await w.app.db.selectFrom('sessionDays').select(['date', 'bookedCount']).execute();
    for (const d of days) assert.equal(d.bookedCount, 0, `${d.date} counts no booking`);
    const serials = await w.app.db.selectFrom('appointments').select(['queueId', 'serial']).execute();
    assert.equal(
      new Set(serials.map((r) => `${r.queueId}:${r.serial}`)).size,
      serials.length,
      'no serial was handed out twice',
    );
  });

  test('reschedules under contention never lose the old booking nor overfill the new day', async (t) => {
    const w = await twoInstances(t);
    const sessionId = await makeSession(w.app, {
      doctorId: w.doctor.doctorId,
      hospitalId: w.hospitalId,
      weekday: 2,
      start: '08:00',
      end: '18:00',
      slotMinutes: 5,
      capacity: 60,
    });
    const movers = await makePatients(w.app, 30);
    const crossers = await makePatients(w.app, 10);
    const crowd = await makePatients(w.app, 60);
    const firstDay: { id: string }[] = [];
    for (const p of movers) firstDay.push((await book(w.app, p, { sessionId, date: TUESDAY })).json());
    const secondDay: { id: string }[] = [];
    for (const p of crossers)
      secondDay.push((await book(w.app, p, { sessionId, date: NEXT_TUESDAY })).json());
    const move = (app: FastifyInstance, p: FastPatient, id: string, date: string) =>
      app.inject({
        method: 'POST',
        url: `/v1/appointments/${id}/reschedule`,
        headers: p.auth,
        payload: { sessionId, date },
      });
    const results = await Promise.all([
      ...movers.map((p, i) => move(w.apps[i % 2], p, firstDay[i].id, NEXT_TUESDAY)),
      ...crossers.map((p, i) => move(w.apps[(i + 1) % 2], p, secondDay[i].id, TUESDAY)),
      ...crowd.map((p, i) => book(w.apps[i % 2], p, { sessionId, date: NEXT_TUESDAY })),
    ]);
    for (const r of results) assert.ok([200, 201, 409].includes(r.statusCode), r.body);
    for (const r of results.filter((x) => x.statusCode === 409)) assert.equal(r.json().code, 'SESSION_FULL');
    for (const p of [...movers, ...crossers]) {
      const active = await w.app.db
        .selectFrom('appointments')
        .select('id')
        .where('profileId', '=', p.profileId)
        .where('status', '!=', 'cancelled')
        .execute();
      assert.equal(active.length, 1, 'each rescheduling patient holds exactly one booking');
    }
    const days = await w.app.db.selectFrom('sessionDays').select(['id', 'date', 'bookedCount']).execute();
    for (const day of days) {
      const active = await w.app.db
        .selectFrom('appointments')
        .select(['serial'])
        .where('queueId', '=', day.id)
        .where('status', '!=', 'cancelled')
        .execute();
      assert.ok(active.length <= 60, `${day.date} holds ${active.length}`);
      assert.equal(day.bookedCount, active.length, 'booked_count follows the active bookings');
    }
    const next = days.find((d) => d.date === NEXT_TUESDAY);
    assert.equal(next?.bookedCount, 60, 'the contended day fills exactly');
  });
});
