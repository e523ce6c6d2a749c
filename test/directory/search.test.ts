import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ManualClock } from '../../src/clock.js';
import { insertCatalog, insertHospital } from '../helpers/clinic.js';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser } from '../helpers/users.js';
import { insertAppointment, insertDoctor, insertSession, insertSessionDay, makeDoctor } from './fixtures.js';

// Monday 2 March 2026, 06:00 UTC (noon in Dhaka).
const NOW = '2026-03-02T06:00:00Z';

interface World {
  dhaka: string;
  ctg: string;
  cardiology: string;
  pediatrics: string;
  fcps: string;
  mbbs: string;
  ecg: string;
  rahman: string;
  rahima: string;
  chowdhury: string;
  unverified: string;
  karim: string;
}

async function ids(app: FastifyInstance, query: string): Promise<string[]> {
  const res = await app.inject({ url: `/v1/doctors?${query}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().items.map((d: { id: string }) => d.id);
}

async function buildWorld(app: FastifyInstance): Promise<World> {
  const dhaka = await insertHospital(app, { name: 'Dhanmondi General', city: 'Dhaka' });
  const ctg = await insertHospital(app, { name: 'Chattogram Medical', city: 'Chattogram' });
  const cardiology = await insertCatalog(app, 'specializations', 'Cardiology');
  const pediatrics = await insertCatalog(app, 'specializations', 'Pediatrics');
  const fcps = await insertCatalog(app, 'qualifications', 'FCPS');
  const mbbs = await insertCatalog(app, 'qualifications', 'MBBS');
  const ecg = await insertCatalog(app, 'services', 'ECG');
  const rahman = (await makeDoctor(app, 'Ayesha Rahman', { licenseNo: 'BMDC-A-1001' })).doctorId;
  const rahima = (await makeDoctor(app, 'Rahima Begum', { licenseNo: 'BMDC-A-1002' })).doctorId;
  const chowdhury = (await makeDoctor(app, 'Tanvir Chowdhury', { licenseNo: 'BMDC-A-1003' })).doctorId;
  const unverified = (await makeDoctor(app, 'Unverified Rahman', { verified: false, licenseNo: 'BMDC-X-9' }))
    .doctorId;
  // Karim's licence number looks like a name so a licence search must rank it above similar names.
  const karim = (await makeDoctor(app, 'Karim Uddin', { licenseNo: 'RAHMAN' })).doctorId;

  await app.db
    .insertInto('doctorSpecializations')
    .values([
      { doctorId: rahman, specializationId: cardiology },
      { doctorId: rahima, specializationId: pediatrics },
      { doctorId: chowdhury, specializationId: cardiology },
      { doctorId: unverified, specializationId: cardiology },
    ])
    .execute();
  await app.db
    .insertInto('doctorQualifications')
    .values([
      { doctorId: rahman, qualificationId: mbbs, institute: 'DMC', year: 2005 },
      { doctorId: rahman, qualificationId: fcps, institute: 'BCPS', year: 2012 },
      { doctorId: rahima, qualificationId: mbbs, institute: 'CMC', year: 2010 },
      { doctorId: chowdhury, qualificationId: fcps, institute: 'BCPS', year: 2015 },
    ])
    .execute();
  await app.db
    .insertInto('doctorServices')
    .values([
      { doctorId: rahman, serviceId: ecg },
      { doctorId: chowdhury, serviceId: ecg },
    ])
    .execute();
  // Rahman: Dhaka on Mondays and Wednesdays. Rahima: Chattogram on Tuesdays. Chowdhury: both cities,
  // Thursday in Dhaka, Monday in Chattogram (only from 1 April). Karim: Dhaka on Sunday.
  const rahmanMon = await insertSession(app, { doctorId: rahman, hospitalId: dhaka, weekday: 1 });
  await insertSession(app, { doctorId: rahman, hospitalId: dhaka, weekday: 3 });
  await insertSession(app, { doctorId: rahima, hospitalId: ctg, weekday: 2 });
  await insertSession(app, { doctorId: chowdhury, hospitalId: dhaka, weekday: 4 });
  await insertSession(app, { doctorId: chowdhury, hospitalId: ctg, weekday: 1, validFrom: '2026-04-01' });
  await insertSession(app, { doctorId: karim, hospitalId: dhaka, weekday: 7 });
  await insertSession(app, { doctorId: unverified, hospitalId: dhaka, weekday: 1 });
  // Rahman is away the week of 9 March; today's (2 March) Monday queue is full.
  await app.db
    .insertInto('timeOff')
    .values({ doctorId: rahman, fromDate: '2026-03-09', toDate: '2026-03-15', reason: 'conference' })
    .execute();
  await insertSessionDay(app, { sessionId: rahmanMon, date: '2026-03-02', bookedCount: 18 });
  return {
    dhaka,
    ctg,
    cardiology,
    pediatrics,
    fcps,
    mbbs,
    ecg,
    rahman,
    rahima,
    chowdhury,
    unverified,
    karim,
  };
}

for (const backend of await databaseBackends()) {
  describe(`doctor search [${backend}]`, () => {
    const shared = sharedTestApp({ backend, clock: new ManualClock(NOW) });
    let w: World;
    before(async () => {
      w = await buildWorld(shared.current.app);
    });

    test('a typo still finds the doctor ("Rahmn" → Rahman), and partial words match', async () => {
      const { app } = shared.current;
      const typo = await ids(app, 'q=Rahmn');
      assert.ok(typo.includes(w.rahman), 'Rahmn finds Rahman');
      assert.ok(!typo.includes(w.chowdhury));
      assert.ok(!typo.includes(w.unverified), 'unverified doctors are never listed publicly');
      assert.deepEqual(await ids(app, 'q=Chowdh'), [w.chowdhury]);
      assert.deepEqual(await ids(app, 'q=tanvir%20chowdhury'), [w.chowdhury], 'case-insensitive full name');
      assert.deepEqual(await ids(app, 'q=Zzyzx'), []);
    });

    test('an exact licence number ranks first, above names that merely look like it', async () => {
      const { app } = shared.current;
      assert.deepEqual(await ids(app, 'q=BMDC-A-1002'), [w.rahima]);
      assert.deepEqual(await ids(app, 'q=bmdc-a-1003'), [w.chowdhury], 'licence match ignores case');
      const found = await ids(app, 'q=Rahman');
      assert.equal(found[0], w.karim, 'the licence holder is first');
      assert.ok(found.includes(w.rahman), 'the similar name still follows');
    });

    test('each filter on its own', async () => {
      const { app } = shared.current;
      const sorted = (list: string[]) => [...list].sort();
      assert.deepEqual(sorted(await ids(app, 'city=Dhaka')), sorted([w.rahman, w.chowdhury, w.karim]));
      assert.deepEqual(sorted(await ids(app, 'city=chattogram')), sorted([w.rahima, w.chowdhury]));
      assert.deepEqual(sorted(await ids(app, 'specialization=Cardiology')), sorted([w.rahman, w.chowdhury]));
      assert.deepEqual(sorted(await ids(app, `specialization=${w.pediatrics}`)), [w.rahima]);
      assert.deepEqual(sorted(await ids(app, 'qualification=FCPS')), sorted([w.rahman, w.chowdhury]));
      assert.deepEqual(sorted(await ids(app, `qualification=${w.mbbs}`)), sorted([w.rahman, w.rahima]));
      assert.deepEqual(sorted(await ids(app, `hospitalId=${w.ctg}`)), sorted([w.rahima, w.chowdhury]));
      assert.deepEqual(sorted(await ids(app, `serviceId=${w.ecg}`)), sorted([w.rahman, w.chowdhury]));
      assert.deepEqual(sorted(await ids(app, 'availableOn=2')), [w.rahima]);
      assert.deepEqual(sorted(await ids(app, 'availableOn=1')), sorted([w.rahman, w.chowdhury]));
    });

    test('availableOn a date honours session validity and time off', async () => {
      const { app } = shared.current;
      // Monday 2 March: Rahman (Chowdhury's Chattogram Monday starts in April).
      assert.deepEqual(await ids(app, 'availableOn=2026-03-02'), [w.rahman]);
      // Monday 9 March: Rahman is on leave.
      assert.deepEqual(await ids(app, 'availableOn=2026-03-09'), []);
      // Monday 6 April: both.
      assert.deepEqual((await ids(app, 'availableOn=2026-04-06')).sort(), [w.rahman, w.chowdhury].sort());
      assert.deepEqual(await ids(app, 'availableOn=2026-03-08'), [w.karim], 'Sunday');
    });

    test('filters combine', async () => {
      const { app } = shared.current;
      assert.deepEqual(await ids(app, 'city=Dhaka&specialization=Cardiology&qualification=FCPS&q=rahmn'), [
        w.rahman,
      ]);
      assert.deepEqual(await ids(app, `city=Chattogram&serviceId=${w.ecg}`), [w.chowdhury]);
      assert.deepEqual(
        await ids(app, 'city=Chattogram&specialization=Cardiology&availableOn=2026-03-02'),
        [],
      );
      assert.deepEqual(await ids(app, 'city=Chattogram&specialization=Cardiology&availableOn=2026-04-06'), [
        w.chowdhury,
      ]);
      assert.deepEqual(await ids(app, `hospitalId=${w.dhaka}&availableOn=4`), [w.chowdhury]);
    });

    test('unknown filter values give an empty list, not an error', async () => {
      const { app } = shared.current;
      assert.deepEqual(await ids(app, 'city=Atlantis'), []);
      assert.deepEqual(await ids(app, 'specialization=Astrology'), []);
      assert.deepEqual(await ids(app, 'qualification=00000000-0000-4000-8000-000000000000'), []);
      assert.deepEqual(await ids(app, 'hospitalId=00000000-0000-4000-8000-000000000000'), []);
      assert.deepEqual(await ids(app, 'serviceId=00000000-0000-4000-8000-000000000000'), []);
    });

    test('malformed parameters answer 400 VALIDATION_FAILED naming the field', async () => {
      const { app } = shared.current;
      const cases: [string, string][] = [
        ['availableOn=2026-02-30', 'availableOn'],
        ['availableOn=8', 'availableOn'],
        ['availableOn=tomorrow', 'availableOn'],
        ['limit=-1', 'limit'],
        ['limit=101', 'limit'],
        ['limit=abc', 'limit'],
        ['sort=random', 'sort'],
        ['hospitalId=not-a-uuid', 'hospitalId'],
        ['cursor=garbage', 'cursor'],
        ['colour=blue', 'colour'],
      ];
      for (const [query, field] of cases) {
        const res = await app.inject({ url: `/v1/doctors?${query}` });
        assert.equal(res.statusCode, 400, query);
        const body = res.json();
        assert.equal(body.code, 'VALIDATION_FAILED', query);
        assert.ok(
          JSON.stringify(body.details ?? body.message).includes(field) || body.message.includes(field),
          `${query} names ${field}: ${res.body}`,
        );
      }
    });

    test('sort=name, rating, soonest and popular order the list', async () => {
      const { app } = shared.current;
      assert.deepEqual(await ids(app, 'sort=name'), [w.rahman, w.karim, w.rahima, w.chowdhury]);
      await app.db
        .updateTable('doctors')
        .set({ ratingSum: 9, ratingCount: 2 })
        .where('id', '=', w.rahima)
        .execute();
      await app.db
        .updateTable('doctors')
        .set({ ratingSum: 5, ratingCount: 1 })
        .where('id', '=', w.karim)
        .execute();
      const byRating = await ids(app, 'sort=rating');
      assert.deepEqual(byRating.slice(0, 2), [w.karim, w.rahima], 'best average first, unrated last');

      // Soonest free day from Monday 2 March: Rahman's today is full and next Monday he is away, so his
      // soonest is Wednesday 4 March; Rahima Tuesday 3; Chowdhury Thursday 5; Karim Sunday 8.
      await app.directory.doctors.refreshAllSoonest();
      const soonest = await app.inject({ url: '/v1/doctors?sort=soonest' });
      const items = soonest.json().items as { id: string; soonestDate: string }[];
      assert.deepEqual(
        items.map((d) => [d.id, d.soonestDate]),
        [
          [w.rahima, '2026-03-03'],
          [w.rahman, '2026-03-04'],
          [w.chowdhury, '2026-03-05'],
          [w.karim, '2026-03-08'],
        ],
      );

      const patient = await makeUser(app, 'patient');
      for (let i = 0; i < 3; i++)
        await insertAppointment(app, {
          doctorId: w.chowdhury,
          patient,
          date: '2026-02-20',
          completedAt: new Date('2026-02-20T10:00:00Z'),
        });
      await insertAppointment(app, {
        doctorId: w.rahima,
        patient,
        date: '2026-02-21',
        completedAt: new Date('2026-02-21T10:00:00Z'),
      });
      // Long ago: does not count towards popularity.
      for (let i = 0; i < 5; i++)
        await insertAppointment(app, {
          doctorId: w.karim,
          patient,
          date: '2025-06-01',
          completedAt: new Date('2025-06-01T10:00:00Z'),
        });
      // The periodic recount by the app clock (2 March): the June 2025 visits are past 90 days.
      await app.directory.doctors.refreshPopularity();
      await app.directory.doctors.invalidate();
      const popular = (await app.inject({ url: '/v1/doctors?sort=popular' })).json().items as {
        id: string;
        recentVisits: number;
      }[];
      assert.deepEqual(
        popular.slice(0, 2).map((d) => [d.id, d.recentVisits]),
        [
          [w.chowdhury, 3],
          [w.rahima, 1],
        ],
      );
      assert.equal(popular[2].id, w.karim, 'no recent visits: then by rating');
    });

    test('pages have no duplicates or gaps while doctors are added between page requests', async () => {
      const { app } = shared.current;
      const hospital = await insertHospital(app, { name: 'Paging Clinic', city: 'Sylhet' });
      const made: string[] = [];
      for (let i = 0; i < 12; i++) {
        const id = await insertDoctor(app, `Page Doctor ${String.fromCharCode(66 + 2 * i)}`);
        await insertSession(app, { doctorId: id, hospitalId: hospital, weekday: 5 });
        made.push(id);
      }
      for (const sort of ['name', 'soonest', 'rating', 'relevance']) {
        const seen: string[] = [];
        let cursor: string | null = null;
        let inserted = 0;
        do {
          const q: string = `city=Sylhet&limit=5&sort=${sort}${sort === 'relevance' ? '&q=Page%20Doctor' : ''}${cursor ? `&cursor=${cursor}` : ''}`;
          const res: {
            statusCode: number;
            body: string;
            json(): { items: { id: string }[]; nextCursor: string | null };
          } = await app.inject({ url: `/v1/doctors?${q}` });
          assert.equal(res.statusCode, 200, res.body);
          seen.push(...res.json().items.map((d) => d.id));
          cursor = res.json().nextCursor;
          // Insert one doctor that sorts before everything seen and one after, between pages.
          const early = await insertDoctor(app, `Page Doctor A${sort}${inserted}`);
          const late = await insertDoctor(app, `Page Doctor Z${sort}${inserted++}`);
          await insertSession(app, { doctorId: early, hospitalId: hospital, weekday: 5 });
          await insertSession(app, { doctorId: late, hospitalId: hospital, weekday: 5 });
        } while (cursor);
        assert.equal(new Set(seen).size, seen.length, `${sort}: no duplicates`);
        for (const id of made) assert.ok(seen.includes(id), `${sort}: no gaps`);
      }
    });

    test('sort=soonest offers only days a patient could book now: booking window, cut-off, capacity', async () => {
      const { app } = shared.current;
      // Monday 2 March, noon in Dhaka. Each doctor holds one session; the name says what limits it.
      const hospital = await insertHospital(app, { name: 'Window Clinic', city: 'Rangpur' });
      const doctor = async (
        name: string,
        session: Omit<Parameters<typeof insertSession>[1], 'doctorId' | 'hospitalId'>,
      ) => {
        const id = await insertDoctor(app, `${name} Windowson`);
        return { id, session: await insertSession(app, { doctorId: id, hospitalId: hospital, ...session }) };
      };
      const tonight = await doctor('Tonight', { weekday: 1, startTime: '17:00', bookingClosesMinutes: 60 });
      const cutOff = await doctor('Cutoff', { weekday: 1, startTime: '12:30', bookingClosesMinutes: 60 });
      const shortWindow = await doctor('Short', { weekday: 6, bookingOpensDays: 3 });
      const opensFriday = await doctor('Friday', { weekday: 5, bookingOpensDays: 4 });
      const cancelled = await doctor('Cancelled', { weekday: 2 });
      const paused = await doctor('Paused', { weekday: 2 });
      const full = await doctor('Full', { weekday: 2, capacity: 5 });
      await insertSessionDay(app, { sessionId: full.session, date: '2026-03-03', bookedCount: 5 });
      await insertSessionDay(app, { sessionId: paused.session, date: '2026-03-03' });
      await insertSessionDay(app, { sessionId: cancelled.session, date: '2026-03-03', status: 'cancelled' });
      await app.db
        .updateTable('sessionDays')
        .set({ status: 'paused' })
        .where('sessionId', '=', paused.session)
        .execute();

      await app.directory.doctors.refreshAllSoonest();
      const res = await app.inject({ url: '/v1/doctors?q=Windowson&sort=soonest&limit=20' });
      assert.equal(res.statusCode, 200, res.body);
      const soonest = new Map(
        (res.json().items as { id: string; soonestDate: string | null }[]).map((d) => [d.id, d.soonestDate]),
      );
      assert.equal(soonest.get(tonight.id), '2026-03-02', 'today, before the cut-off');
      assert.equal(soonest.get(cutOff.id), '2026-03-09', 'today closed for booking at 11:30: next Monday');
      assert.equal(soonest.get(shortWindow.id), null, 'Saturday is 5 days away, the window opens 3 ahead');
      assert.equal(soonest.get(opensFriday.id), '2026-03-06', 'Friday is exactly 4 days ahead: open');
      assert.equal(soonest.get(cancelled.id), '2026-03-10', 'a cancelled day is skipped');
      assert.equal(soonest.get(paused.id), '2026-03-03', 'a paused queue still takes bookings');
      assert.equal(soonest.get(full.id), '2026-03-10', 'a full day is skipped');
      // The same answer as the booking side: the first day its availability offers with a place left.
      for (const [id, date] of soonest) {
        const res = await app.inject({ url: `/v1/doctors/${id}/availability?from=2026-03-02&to=2026-03-31` });
        assert.equal(res.statusCode, 200, res.body);
        const open = (res.json().items as { date: string; remaining: number }[]).filter(
          (o) => o.remaining > 0,
        );
        assert.equal(open[0]?.date ?? null, date, `availability agrees for ${id}`);
      }
    });

    test('sort=soonest follows bookings and schedule changes as they commit', async () => {
      const { app } = shared.current;
      const hospital = await insertHospital(app, { name: 'Busy Clinic', city: 'Bogura' });
      const doctor = await insertDoctor(app, 'Lastplace Bookson');
      const sessionId = await insertSession(app, {
        doctorId: doctor,
        hospitalId: hospital,
        weekday: 1,
        capacity: 1,
      });
      await app.directory.doctors.refreshAllSoonest();
      const soonest = async () => {
        await app.directory.doctors.invalidate();
        const res = await app.inject({ url: '/v1/doctors?q=Bookson&sort=soonest' });
        return res.json().items.map((d: { soonestDate: string | null }) => d.soonestDate);
      };
      assert.deepEqual(await soonest(), ['2026-03-02'], 'tonight has its one place');
      const patient = await makeUser(app, 'patient');
      const booked = await app.inject({
        method: 'POST',
        url: '/v1/appointments',
        headers: patient.auth,
        payload: { sessionId, date: '2026-03-02' },
      });
      assert.equal(booked.statusCode, 201, booked.body);
      assert.deepEqual(
        await soonest(),
        ['2026-03-09'],
        'the last place taken: next Monday, with no refresh run',
      );
      const cancelled = await app.inject({
        method: 'POST',
        url: `/v1/appointments/${booked.json().id}/cancel`,
        headers: patient.auth,
        payload: {},
      });
      assert.equal(cancelled.statusCode, 200, cancelled.body);
      assert.deepEqual(await soonest(), ['2026-03-02'], 'the place given back: tonight again');
      const admin = await makeUser(app, 'admin');
      const away = await app.inject({
        method: 'POST',
        url: `/v1/doctors/${doctor}/time-off`,
        headers: admin.auth,
        payload: { from: '2026-03-02', to: '2026-03-10', reason: 'leave' },
      });
      assert.ok(away.statusCode < 300, away.body);
      assert.deepEqual(await soonest(), ['2026-03-16'], 'time off through the 10th: the Monday after');
    });
  });
}
