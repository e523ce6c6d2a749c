// Reports and schedule views over a hand-built day (test/reports/fixtures.ts): every figure is checked against
// what the day works out to on paper, then who may see what, bad input, and the CSV.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { parse } from 'csv-parse/sync';
import { buildTestApp } from '../helpers/app.js';
import { insertHospital, insertSession, makeDoctor } from '../helpers/clinic.js';
import { databaseBackends } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { insertHandBuiltDay, type VisitSpec } from './fixtures.js';

const DAY = '2025-06-03'; // a Tuesday

/**
 * Six visits seen, one no-show, three cancellations. Waits (min): 10, 17, 10 (never checked in: scheduled
 * 09:20 → called 09:30), 30, 21, 26. Consults: 12, 8, 15, 6, 10, 20. Shown ETAs vs calls: 0, 0, 10, 0, 11
 * (three with a range, two inside). Naive (09:00 + (serial − 1) × 10 min): 0, 12, 15, 19 (walk-in serial 8),
 * 9; inside its slot: one of the three.
 */
function visits(patientId: string, staffId: string): VisitSpec[] {
  return [
    {
      serial: 1,
      status: 'completed',
      checkedIn: '08:50',
      eta: '09:00',
      range: ['09:00', '09:05'],
      called: '09:00',
      completed: '09:12',
    },
    {
      serial: 2,
      status: 'completed',
      checkedIn: '09:05',
      eta: '09:22',
      range: ['09:20', '09:25'],
      called: '09:22',
      completed: '09:30',
    },
    { serial: 3, status: 'completed', called: '09:30', completed: '09:45' },
    { serial: 4, status: 'completed', checkedIn: '09:15', eta: '09:35', called: '09:45', completed: '09:51' },
    { serial: 5, status: 'no_show' },
    { serial: 6, status: 'cancelled', cancelledBy: patientId },
    { serial: 7, status: 'cancelled', cancelledBy: staffId },
    {
      serial: 8,
      kind: 'walk_in',
      status: 'completed',
      scheduled: '09:30',
      checkedIn: '09:30',
      eta: '09:51',
      called: '09:51',
      completed: '10:01',
    },
    {
      serial: 9,
      status: 'completed',
      checkedIn: '09:45',
      eta: '10:00',
      range: ['09:55', '10:05'],
      called: '10:11',
      completed: '10:31',
    },
    { serial: 10, status: 'cancelled', cancelledBy: null },
  ];
}

async function world(t: TestContext, backend: 'postgres' | 'pglite') {
  const { app } = await buildTestApp(t, { backend });
  const lake = await insertHospital(app, { name: 'Lake Hospital' });
  const river = await insertHospital(app, { name: 'River Hospital' });
  const drLake = await makeDoctor(app, { name: 'Dr. Lake' });
  const drRiver = await makeDoctor(app, { name: 'Dr. River' });
  const staffLake = await makeUser(app, 'staff', { hospitalId: lake });
  const staffRiver = await makeUser(app, 'staff', { hospitalId: river });
  const admin = await makeUser(app, 'admin');
  const patient = await makeUser(app, 'patient');
  const lakeSession = await insertSession(app, { doctorId: drLake.doctorId, hospitalId: lake, weekday: 2 });
  const riverSession = await insertSession(app, {
    doctorId: drRiver.doctorId,
    hospitalId: river,
    weekday: 2,
  });
  await app.db.updateTable('sessions').set({ confirmedAt: new Date() }).execute();
  const day = { date: DAY, start: '09:00', end: '12:00', slotMinutes: 10 };
  const lakeQueue = await insertHandBuiltDay(app, {
    ...day,
    sessionId: lakeSession,
    doctorId: drLake.doctorId,
    hospitalId: lake,
    visits: visits(patient.id, staffLake.id),
  });
  // Feedback on three visits (5/4 yes, 3/2 no, 4/5 no answer) and their invoices (paid, pending, void).
  const lakeVisits = await app.db
    .selectFrom('appointments')
    .select(['id', 'serial'])
    .where('queueId', '=', lakeQueue)
    .orderBy('serial')
    .execute();
  const given = [
    { rating: 5, waitRating: 4, wouldRecommend: true, status: 'paid', total: 500 },
    { rating: 3, waitRating: 2, wouldRecommend: false, status: 'pending', total: 500 },
    { rating: 4, waitRating: 5, wouldRecommend: null, status: 'void', total: 800 },
  ] as const;
  for (const [i, g] of given.entries()) {
    const base = { appointmentId: lakeVisits[i].id, hospitalId: lake, doctorId: drLake.doctorId };
    await app.db
      .insertInto('feedback')
      .values({
        ...base,
        rating: g.rating,
        waitRating: g.waitRating,
        wouldRecommend: g.wouldRecommend,
        via: 'app',
        createdAt: new Date(),
      })
      .execute();
    await app.db
      .insertInto('invoices')
      .values({
        ...base,
        year: 2025,
        seq: i + 1,
        number: `LAKE-2025-00000${i + 1}`,
        currency: 'BDT',
        total: g.total,
        status: g.status,
        issuedAt: new Date(),
        issuedOn: DAY,
        linkTokenHash: `link-${i}`,
        linkExpiresAt: new Date(),
      })
      .execute();
  }
  await insertHandBuiltDay(app, {
    ...day,
    sessionId: riverSession,
    doctorId: drRiver.doctorId,
    hospitalId: river,
    visits: [{ serial: 1, status: 'completed', checkedIn: '09:00', called: '09:04', completed: '09:14' }],
  });
  const get = (url: string, auth?: { authorization: string }, accept?: string) =>
    app.inject({ method: 'GET', url, headers: { ...(auth ?? {}), ...(accept ? { accept } : {}) } });
  return { app, lake, river, drLake, drRiver, staffLake, staffRiver, admin, patient, lakeQueue, get };
}

for (const backend of await databaseBackends()) {
  describe(`reports [${backend}]`, () => {
    test('a day report gives the figures the hand-built day works out to', async (t) => {
      const w = await world(t, backend);
      const res = await w.get(`/v1/reports/appointments?period=day&date=${DAY}`, w.staffLake.auth);
      assert.equal(res.statusCode, 200, res.body);
      const r = res.json();
      assert.equal(r.hospitalId, w.lake);
      assert.deepEqual([r.from, r.to], [DAY, DAY]);
      const f = r.totals;
      assert.equal(f.appointments, 10);
      assert.deepEqual(f.byStatus, {
        booked: 0,
        confirmed: 0,
        checkedIn: 0,
        called: 0,
        completed: 6,
        noShow: 1,
        skipped: 0,
        cancelled: 3,
      });
      assert.deepEqual([f.booked, f.walkIns], [9, 1]);
      assert.deepEqual(f.cancellationsBy, { patient: 1, doctor: 0, staff: 1, admin: 0, system: 1 });
      assert.deepEqual(f.wait, { samples: 6, median: 19, p90: 28 });
      assert.deepEqual(f.consult, { samples: 6, median: 11, p90: 17.5 });
      assert.equal(f.noShowRate, 0.143);
      assert.deepEqual(f.eta, {
        samples: 5,
        rangeSamples: 3,
        medianAbsErrorMinutes: 0,
        insideRangeShare: 0.667,
        naive: { medianAbsErrorMinutes: 12, insideRangeShare: 0.333 },
      });
      assert.deepEqual(f.feedback, { count: 3, rating: 4, waitRating: 3.67, wouldRecommendShare: 0.5 });
      assert.deepEqual(f.revenue, { invoiced: 1000, paid: 500, currency: 'BDT' });
      const hour = (h: number) => r.hourly.find((x: { hour: number }) => x.hour === h);
      assert.deepEqual(hour(8), { hour: 8, arrivals: 1, calls: 0 });
      assert.deepEqual(hour(9), { hour: 9, arrivals: 4, calls: 5 });
      assert.deepEqual(hour(10), { hour: 10, arrivals: 0, calls: 1 });
      assert.equal(r.hourly.length, 24);
      assert.deepEqual(
        r.waitDistribution.map((b: { count: number }) => b.count),
        [0, 0, 2, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
      );
      assert.deepEqual(r.etaByWeek, [
        { week: '2025-06-02', samples: 10, medianAbsErrorMinutes: 0, naiveMedianAbsErrorMinutes: 12 },
      ]);
      assert.equal(r.doctors.length, 1);
      assert.equal(r.doctors[0].doctorName, 'Dr. Lake');
      assert.deepEqual(r.doctors[0].wait, f.wait);
      assert.equal(r.days.length, 1);
      assert.equal(r.days[0].date, DAY);
    });

    test('week and month periods cover the ISO week and the calendar month', async (t) => {
      const w = await world(t, backend);
      const week = (await w.get(`/v1/reports/appointments?period=week&date=2025-06-08`, w.admin.auth)).json();
      assert.deepEqual([week.from, week.to], ['2025-06-02', '2025-06-08']);
      assert.equal(week.totals.appointments, 11);
      const month = (
        await w.get(`/v1/reports/appointments?period=month&date=2025-06-30`, w.admin.auth)
      ).json();
      assert.deepEqual([month.from, month.to], ['2025-06-01', '2025-06-30']);
      assert.equal(month.doctors.length, 2);
      const empty = (
        await w.get(`/v1/reports/appointments?period=week&date=2025-06-09`, w.admin.auth)
      ).json();
      assert.equal(empty.totals.appointments, 0);
      assert.equal(empty.totals.wait.median, null);
      assert.deepEqual(empty.doctors, []);
    });

    test('staff see only their hospital, doctors only themselves, patients nothing', async (t) => {
      const w = await world(t, backend);
      const url = `/v1/reports/appointments?period=day&date=${DAY}`;
      const river = (await w.get(url, w.staffRiver.auth)).json();
      assert.equal(river.totals.appointments, 1);
      assert.deepEqual(
        river.doctors.map((d: { doctorId: string }) => d.doctorId),
        [w.drRiver.doctorId],
      );
      const other = await w.get(`${url}&hospitalId=${w.lake}`, w.staffRiver.auth);
      assert.equal(other.statusCode, 403);
      assert.equal(other.json().code, 'FORBIDDEN');
      const own = (await w.get(url, w.drRiver.auth)).json();
      assert.equal(own.doctorId, w.drRiver.doctorId);
      assert.equal(own.totals.appointments, 1);
      assert.equal((await w.get(`${url}&doctorId=${w.drLake.doctorId}`, w.drRiver.auth)).statusCode, 403);
      assert.equal((await w.get(url, w.patient.auth)).statusCode, 403);
      assert.equal((await w.get(url)).statusCode, 401);
      const all = (await w.get(url, w.admin.auth)).json();
      assert.equal(all.totals.appointments, 11);
      const lakeOnly = (await w.get(`${url}&hospitalId=${w.lake}`, w.admin.auth)).json();
      assert.equal(lakeOnly.totals.appointments, 10);
      const schedule = await w.get(
        `/v1/schedule?from=${DAY}&to=${DAY}&hospitalId=${w.lake}`,
        w.staffRiver.auth,
      );
      assert.equal(schedule.statusCode, 403);
    });

    test('bad periods, dates and ranges answer 400 VALIDATION_FAILED', async (t) => {
      const w = await world(t, backend);
      for (const query of [
        'period=year&date=2025-06-03',
        'period=day',
        'period=day&date=2025-02-30',
        'period=day&date=yesterday',
        'from=2025-01-01&to=2026-02-05',
        'from=2025-06-03&to=2025-06-01',
        'from=2025-06-03',
        'period=day&date=2025-06-03&from=2025-06-01&to=2025-06-02',
        'period=day&date=2025-06-03&hospitalId=nope',
        '',
      ]) {
        const res = await w.get(`/v1/reports/appointments?${query}`, w.admin.auth);
        assert.equal(res.statusCode, 400, `${query}: ${res.body}`);
        assert.equal(res.json().code, 'VALIDATION_FAILED');
      }
      const long = await w.get('/v1/schedule?from=2025-01-01&to=2026-02-05', w.admin.auth);
      assert.equal(long.statusCode, 400);
      const ok = await w.get('/v1/reports/appointments?from=2025-01-01&to=2026-02-04', w.admin.auth);
      assert.equal(ok.statusCode, 200, 'exactly 400 days is allowed');
    });

    test('Accept: text/csv answers one row per doctor per day that a CSV parser reads', async (t) => {
      const w = await world(t, backend);
      const res = await w.get(`/v1/reports/appointments?period=month&date=${DAY}`, w.admin.auth, 'text/csv');
      assert.equal(res.statusCode, 200);
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      assert.match(String(res.headers['content-disposition']), /appointments-2025-06-01-2025-06-30\.csv/);
      const rows: Record<string, string>[] = parse(res.body, { columns: true });
      assert.equal(rows.length, 2);
      const lake = rows.find((r) => r.doctor_name === 'Dr. Lake');
      assert.ok(lake);
      assert.equal(lake.date, DAY);
      assert.equal(lake.status_completed, '6');
      assert.equal(lake.wait_median_min, '19');
      assert.equal(lake.consult_p90_min, '17.5');
      assert.equal(lake.eta_inside_range_share, '0.667');
      assert.equal(lake.naive_median_abs_error_min, '12');
      assert.equal(lake.revenue_invoiced, '1000');
      assert.equal(lake.feedback_rating, '4');
      const json = await w.get(
        `/v1/reports/appointments?period=day&date=${DAY}`,
        w.admin.auth,
        'application/json',
      );
      assert.match(String(json.headers['content-type']), /^application\/json/);
    });

    test('the schedule lists each sitting with its counts, planned days included', async (t) => {
      const w = await world(t, backend);
      const res = await w.get(`/v1/schedule?from=${DAY}&to=2025-06-10`, w.staffLake.auth);
      assert.equal(res.statusCode, 200, res.body);
      const { items, nextCursor } = res.json();
      assert.equal(nextCursor, null);
      assert.deepEqual(
        items.map((i: { date: string; status: string }) => [i.date, i.status]),
        [
          [DAY, 'closed'],
          ['2025-06-10', 'planned'],
        ],
      );
      assert.deepEqual(
        {
          ...items[0],
          sessionId: undefined,
        },
        {
          date: DAY,
          sessionId: undefined,
          queueId: w.lakeQueue,
          doctorId: w.drLake.doctorId,
          doctorName: 'Dr. Lake',
          hospitalId: w.lake,
          start: '09:00',
          end: '12:00',
          status: 'closed',
          timeOff: false,
          capacity: 18,
          booked: 7,
          checkedIn: 5,
          completed: 6,
          noShows: 1,
          cancellations: 3,
          waitlist: 0,
        },
      );
      assert.equal(items[1].queueId, null);
      assert.equal(items[1].booked, 0);
      const doctor = (await w.get(`/v1/schedule?from=${DAY}&to=${DAY}`, w.drRiver.auth)).json();
      assert.deepEqual(
        doctor.items.map((i: { doctorId: string }) => i.doctorId),
        [w.drRiver.doctorId],
      );
    });
  });
}
