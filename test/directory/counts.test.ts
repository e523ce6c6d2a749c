import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { CompiledQuery, sql } from 'kysely';
import { DomainEvents } from '../../src/events.js';
import { searchQuery } from '../../src/modules/directory/doctors.repository.js';
import { insertCatalog, insertHospital } from '../helpers/clinic.js';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser } from '../helpers/users.js';
import { insertAppointment, insertSession, makeDoctor } from './fixtures.js';

async function truth(app: FastifyInstance, doctorId: string): Promise<number> {
  const row = await app.db
    .selectFrom('appointments')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('doctorId', '=', doctorId)
    .where('status', '=', 'completed')
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function stored(app: FastifyInstance, doctorId: string): Promise<number> {
  const row = await app.db
    .selectFrom('doctors')
    .select('visitCount')
    .where('id', '=', doctorId)
    .executeTakeFirstOrThrow();
  return row.visitCount;
}

for (const backend of await databaseBackends()) {
  describe(`directory read models [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('doctors.visit_count follows completions, bulk inserts, reversals and deletions', async () => {
      const { app } = shared.current;
      const doctor = await makeDoctor(app, 'Counted Visits');
      const other = await makeDoctor(app, 'Other Counted');
      const patient = await makeUser(app, 'patient');
      const profile = async () => (await app.inject({ url: `/v1/doctors/${doctor.doctorId}` })).json();
      assert.equal((await profile()).visitCount, 0, 'and now cached');

      // Completion as the queue does it: status change and queue.changed in one transaction.
      const booked = await insertAppointment(app, { doctorId: doctor.doctorId, patient, status: 'booked' });
      const events = new DomainEvents(app.log);
      app.directory.doctors.subscribe(events);
      await events.transaction(app.db, async (trx, emit) => {
        const row = await trx
          .updateTable('appointments')
          .set({ status: 'completed', completedAt: new Date() })
          .where('id', '=', booked)
          .returning('queueId')
          .executeTakeFirstOrThrow();
        await emit('queue.changed', {
          queueId: row.queueId,
          version: 1,
          type: 'completed',
          appointmentId: booked,
        });
      });
      assert.equal(await stored(app, doctor.doctorId), 1);
      assert.equal((await profile()).visitCount, 1, 'the cached profile was dropped on completion');

      // One statement inserting completed visits of two doctors, plus one that is not completed.
      const template = await app.db
        .selectFrom('appointments')
        .selectAll()
        .where('id', '=', booked)
        .executeTakeFirstOrThrow();
      const { id: _id, ...base } = template;
      const copy = (doctorId: string, status: 'completed' | 'booked', serial: number) => ({
        ...base,
        doctorId,
        status,
        serial,
        positionKey: serial,
        profileId: null,
        trackingTokenHash: randomBytes(16).toString('hex'),
      });
      const copies = await app.db
        .insertInto('appointments')
        .values([
          copy(doctor.doctorId, 'completed', 9001),
          copy(doctor.doctorId, 'completed', 9002),
          copy(other.doctorId, 'completed', 9003),
          copy(doctor.doctorId, 'booked', 9004),
        ])
        .returning('id')
        .execute();
      assert.equal(await stored(app, doctor.doctorId), 3);
      assert.equal(await stored(app, other.doctorId), 1);

      // Reversal, a move to another doctor, an update that changes nothing relevant, and deletions.
      await app.db
        .updateTable('appointments')
        .set({ status: 'cancelled' })
        .where('id', '=', booked)
        .execute();
      assert.equal(await stored(app, doctor.doctorId), 2);
      await app.db
        .updateTable('appointments')
        .set({ doctorId: other.doctorId })
        .where('id', '=', copies[0].id)
        .execute();
      assert.equal(await stored(app, doctor.doctorId), 1);
      assert.equal(await stored(app, other.doctorId), 2);
      await app.db
        .updateTable('appointments')
        .set({ completedAt: new Date() })
        .where('doctorId', '=', other.doctorId)
        .execute();
      assert.equal(await stored(app, other.doctorId), 2);
      await app.db
        .deleteFrom('appointments')
        .where('id', 'in', [copies[1].id, copies[2].id, copies[3].id])
        .execute();
      for (const id of [doctor.doctorId, other.doctorId])
        assert.equal(await stored(app, id), await truth(app, id), 'matches a fresh count');
      assert.equal(await stored(app, doctor.doctorId), 0);
      assert.equal(await stored(app, other.doctorId), 1);

      const listed = (await app.inject({ url: '/v1/doctors?q=Other%20Counted' })).json().items;
      assert.deepEqual(
        listed.map((d: { id: string; visitCount: number }) => [d.id, d.visitCount]),
        [[other.doctorId, 1]],
      );
    });

    test('doctor_cities follows sessions added, moved and removed and hospitals renamed or removed', async () => {
      const { app } = shared.current;
      const doctor = await makeDoctor(app, 'Travelling Cityson');
      const cities = async () =>
        (
          await app.db
            .selectFrom('doctorCities')
            .select('city')
            .where('doctorId', '=', doctor.doctorId)
            .orderBy('city')
            .execute()
        ).map((r) => r.city);
      const cardCities = async () =>
        (
          await app.db
            .selectFrom('doctors')
            .select('cityNames')
            .where('id', '=', doctor.doctorId)
            .executeTakeFirstOrThrow()
        ).cityNames;
      const found = async (city: string) => {
        await app.directory.doctors.invalidate();
        const res = await app.inject({ url: `/v1/doctors?q=Cityson&city=${city}` });
        return res.json().items.map((d: { id: string }) => d.id);
      };
      const dhaka = await insertHospital(app, { city: 'Dhaka' });
      const sylhet = await insertHospital(app, { city: 'Sylhet' });
      assert.deepEqual(await cities(), []);
      const first = await insertSession(app, { doctorId: doctor.doctorId, hospitalId: dhaka, weekday: 1 });
      const second = await insertSession(app, { doctorId: doctor.doctorId, hospitalId: dhaka, weekday: 2 });
      assert.deepEqual(await cities(), ['dhaka']);
      assert.deepEqual(await found('DHAKA'), [doctor.doctorId]);
      await app.db.updateTable('sessions').set({ hospitalId: sylhet }).where('id', '=', second).execute();
      assert.deepEqual(await cities(), ['dhaka', 'sylhet']);
      await app.db.updateTable('sessions').set({ deletedAt: new Date() }).where('id', '=', first).execute();
      assert.deepEqual(await cities(), ['sylhet']);
      assert.deepEqual(await found('Dhaka'), [], 'a removed session no longer places the doctor there');
      await app.db.updateTable('hospitals').set({ city: 'Srimangal' }).where('id', '=', sylhet).execute();
      assert.deepEqual(await cities(), ['srimangal']);
      assert.deepEqual(
        await cardCities(),
        ['Srimangal'],
        'the card shows the city as the hospital spells it',
      );
      assert.deepEqual(await found('Srimangal'), [doctor.doctorId]);
      await app.db.updateTable('hospitals').set({ deletedAt: new Date() }).where('id', '=', sylhet).execute();
      assert.deepEqual(await cities(), []);
      await app.db.updateTable('hospitals').set({ deletedAt: null }).where('id', '=', sylhet).execute();
      await app.db.updateTable('sessions').set({ deletedAt: null }).where('id', '=', first).execute();
      assert.deepEqual(await cities(), ['dhaka', 'srimangal']);
      assert.deepEqual(await cardCities(), ['Dhaka', 'Srimangal']);
      await app.db.deleteFrom('sessions').where('id', 'in', [first, second]).execute();
      assert.deepEqual(await cities(), []);
      assert.deepEqual(await cardCities(), []);
    });

    test('doctors.recent_visits: completions add at once, undoing one takes it back, the recount drops old ones', async () => {
      const { app } = shared.current;
      const doctor = await makeDoctor(app, 'Popular Recentson');
      const patient = await makeUser(app, 'patient');
      const recent = async () =>
        (
          await app.db
            .selectFrom('doctors')
            .select(['recentVisits', 'visitCount'])
            .where('id', '=', doctor.doctorId)
            .executeTakeFirstOrThrow()
        ).recentVisits;
      const today = new Date().toISOString().slice(0, 10);
      const old = new Date(Date.now() - 120 * 86_400_000);
      const oldDay = old.toISOString().slice(0, 10);
      await insertAppointment(app, {
        doctorId: doctor.doctorId,
        patient,
        date: today,
        completedAt: new Date(),
      });
      assert.equal(await recent(), 1, 'a visit completed now counts at once');
      await insertAppointment(app, { doctorId: doctor.doctorId, patient, date: oldDay, completedAt: old });
      assert.equal(await recent(), 1, 'a visit completed 120 days ago does not');
      const booked = await insertAppointment(app, {
        doctorId: doctor.doctorId,
        patient,
        date: today,
        status: 'booked',
      });
      await app.db
        .updateTable('appointments')
        .set({ status: 'completed', completedAt: new Date() })
        .where('id', '=', booked)
        .execute();
      assert.equal(await recent(), 2, 'completing a booked visit adds one');
      await app.db.updateTable('appointments').set({ status: 'booked' }).where('id', '=', booked).execute();
      assert.equal(await recent(), 1, 'undoing the completion takes it back');

      await app.db
        .updateTable('doctors')
        .set({ recentVisits: 40 })
        .where('id', '=', doctor.doctorId)
        .execute();
      assert.ok((await app.directory.doctors.refreshPopularity()) >= 1, 'the recount reports the change');
      assert.equal(await recent(), 1, 'the recount restores the truth: one visit in the last 90 days');
    });

    test('the popular and rating orders read their page from an index', async () => {
      const { app } = shared.current;
      const now = new Date();
      const base = { today: now.toISOString().slice(0, 10), after: null, limit: 20, onlyVerified: true };
      for (const [sort, index] of [
        ['popular', 'doctors_popular_idx'],
        ['rating', 'doctors_rating_idx'],
      ] as const) {
        const compiled = searchQuery({ ...base, sort }).compile(app.db);
        // With sequential scans and sorts priced out, only an index whose expression is the sort key serves.
        const plan = await app.db.transaction().execute(async (trx) => {
          await sql`set local enable_seqscan = off`.execute(trx);
          await sql`set local enable_sort = off`.execute(trx);
          const { rows } = await trx.executeQuery<Record<string, string>>(
            CompiledQuery.raw(`explain ${compiled.sql}`, [...compiled.parameters]),
          );
          return rows.map((r) => Object.values(r)[0]).join('\n');
        });
        assert.match(plan, new RegExp(`Index Scan using ${index}`), `${sort}:\n${plan}`);
      }
    });

    test('doctors.specialization_names follows the doctor list, renames and removals of specializations', async () => {
      const { app } = shared.current;
      const tag = randomBytes(3).toString('hex');
      const doctor = await makeDoctor(app, `Speciality Cardson ${tag}`);
      const [heart, skin] = [
        await insertCatalog(app, 'specializations', `Zeta Heart ${tag}`),
        await insertCatalog(app, 'specializations', `Alpha Skin ${tag}`),
      ];
      const card = async () => {
        await app.directory.doctors.invalidate();
        const res = await app.inject({ url: `/v1/doctors?q=Cardson%20${tag}` });
        return res.json().items.map((d: { specializations: string[] }) => d.specializations);
      };
      assert.deepEqual(await card(), [[]]);
      await app.db
        .insertInto('doctorSpecializations')
        .values([heart, skin].map((specializationId) => ({ doctorId: doctor.doctorId, specializationId })))
        .execute();
      assert.deepEqual(await card(), [[`Alpha Skin ${tag}`, `Zeta Heart ${tag}`]], 'sorted by name');
      await app.db
        .updateTable('specializations')
        .set({ name: `Beta Heart ${tag}` })
        .where('id', '=', heart)
        .execute();
      assert.deepEqual(
        await card(),
        [[`Alpha Skin ${tag}`, `Beta Heart ${tag}`]],
        'a rename reaches the card',
      );
      await app.db.deleteFrom('specializations').where('id', '=', skin).execute();
      assert.deepEqual(await card(), [[`Beta Heart ${tag}`]], 'a removed specialization leaves the card');
      // Through the API, the way a doctor edits their own profile.
      const res = await app.inject({
        method: 'PATCH',
        url: `/v1/doctors/${doctor.doctorId}`,
        headers: doctor.auth,
        payload: { specializationIds: [] },
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(await card(), [[]]);
    });
  });
}
