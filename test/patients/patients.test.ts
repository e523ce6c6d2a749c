import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { DateTime } from 'luxon';
import { type PatientFilter, patientSearchQuery } from '../../src/modules/patients/patients.repository.js';
import { makeDoctor, makeHospital, makeSession } from '../appointments/fixtures.js';
import { databaseBackends } from '../helpers/services.js';
import { sharedTestApp } from '../helpers/shared-app.js';
import { makeUser, PASSWORD, type TestUser, uniqueEmail } from '../helpers/users.js';

/** A surname no other test uses, so searches see only this test's patients. */
const surname = () => `Zq${randomBytes(4).toString('hex')}`;

function search(app: FastifyInstance, user: TestUser | null, q: string, extra = '') {
  return app.inject({
    method: 'GET',
    url: `/v1/patients?q=${encodeURIComponent(q)}${extra}`,
    headers: user?.auth ?? {},
  });
}

function register(app: FastifyInstance, user: TestUser, payload: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/v1/patients', headers: user.auth, payload });
}

/** Adds a dependent to the patient's account; returns its profile id. */
async function addDependent(app: FastifyInstance, parent: TestUser, name: string): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/v1/me/dependents',
    headers: parent.auth,
    payload: { name, relation: 'child' },
  });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().id;
}

/** Books each profile into a session of a new doctor at the hospital tomorrow, on the desk's behalf. */
async function bookAt(app: FastifyInstance, staff: TestUser, hospitalId: string, profileIds: string[]) {
  const doctor = await makeDoctor(app);
  const tomorrow = DateTime.now().setZone('Asia/Dhaka').plus({ days: 1 });
  const sessionId = await makeSession(app, {
    doctorId: doctor.doctorId,
    hospitalId,
    weekday: tomorrow.weekday,
  });
  for (const profileId of profileIds) {
    const booked = await app.inject({
      method: 'POST',
      url: '/v1/appointments',
      headers: staff.auth,
      payload: { sessionId, date: tomorrow.toISODate(), profileId },
    });
    assert.equal(booked.statusCode, 201, booked.body);
  }
}

async function counts(app: FastifyInstance) {
  const users = await app.db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  const profiles = await app.db
    .selectFrom('patientProfiles')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return { users: Number(users.n), profiles: Number(profiles.n) };
}

for (const backend of await databaseBackends()) {
  describe(`patient lookup and desk registration [${backend}]`, () => {
    const shared = sharedTestApp({ backend });

    test('patients and doctors get 403, guests 401, for both lookup and registration', async () => {
      const { app } = shared.current;
      for (const role of ['patient', 'doctor'] as const) {
        const user = await makeUser(app, role);
        assert.equal((await search(app, user, 'Karim')).json().code, 'FORBIDDEN');
        const created = await register(app, user, { name: 'Someone', phone: '01711000099' });
        assert.equal(created.statusCode, 403);
        assert.equal(created.json().code, 'FORBIDDEN');
      }
      const guest = await search(app, null, 'Karim');
      assert.equal(guest.statusCode, 401);
      assert.equal(guest.json().code, 'UNAUTHENTICATED');
    });

    test('staff find a patient and their dependents by name, e-mail prefix and phone', async () => {
      const { app } = shared.current;
      const hospitalId = await makeHospital(app);
      const staff = await makeUser(app, 'staff', { hospitalId });
      const family = surname();
      const parent = await makeUser(app, 'patient', { name: `Amina ${family}`, phone: '+8801712345678' });
      const child = await app.inject({
        method: 'POST',
        url: '/v1/me/dependents',
        headers: parent.auth,
        payload: { name: 'Rumi Child', relation: 'child' },
      });
      assert.equal(child.statusCode, 201);
      // Staff search the patients their hospital has seen.
      await bookAt(app, staff, hospitalId, [parent.profileId as string, child.json().id]);

      // By the account holder's surname: the holder and the dependent (who has another name).
      const byName = await search(app, staff, family.toUpperCase());
      assert.equal(byName.statusCode, 200);
      const names = byName.json().items.map((i: { name: string }) => i.name);
      assert.deepEqual(names, [`Amina ${family}`, 'Rumi Child']);
      const self = byName.json().items[0];
      assert.equal(self.profileId, parent.profileId);
      assert.equal(self.relation, 'self');
      assert.equal(self.phone, '+8801712345678', 'staff see the whole number to confirm identity');
      assert.equal(self.accountEmail, parent.email);
      assert.equal(self.accountName, `Amina ${family}`);
      assert.equal(byName.json().items[1].relation, 'child');
      assert.equal(byName.json().items[1].accountId, parent.id);

      const byEmail = await search(app, staff, parent.email.slice(0, parent.email.indexOf('@') + 1));
      assert.deepEqual(
        byEmail
          .json()
          .items.map((i: { profileId: string }) => i.profileId)
          .includes(parent.profileId),
        true,
      );

      // The national format finds the number stored in E.164.
      const byPhone = await search(app, staff, '01712-345678');
      assert.equal(byPhone.statusCode, 200);
      assert.ok(
        byPhone.json().items.some((i: { profileId: string }) => i.profileId === parent.profileId),
        'national format matches the E.164 number',
      );
      const byPartial = await search(app, staff, '2345678');
      assert.ok(byPartial.json().items.some((i: { profileId: string }) => i.profileId === parent.profileId));
    });

    test('staff find only the patients their hospital has seen; anyone else only by a whole e-mail or phone', async () => {
      const { app } = shared.current;
      const lake = await makeHospital(app);
      const river = await makeHospital(app);
      const lakeDesk = await makeUser(app, 'staff', { hospitalId: lake });
      const riverDesk = await makeUser(app, 'staff', { hospitalId: river });
      const admin = await makeUser(app, 'admin');
      const family = surname();
      const seen = await makeUser(app, 'patient', { name: `Seen ${family}`, phone: '+8801712000101' });
      const unseen = await makeUser(app, 'patient', { name: `Unseen ${family}`, phone: '+8801712000202' });
      await bookAt(app, lakeDesk, lake, [seen.profileId as string]);
      const ids = async (user: TestUser, q: string) => {
        const res = await search(app, user, q);
        assert.equal(res.statusCode, 200, res.body);
        return res.json().items.map((i: { profileId: string }) => i.profileId);
      };

      assert.deepEqual(await ids(lakeDesk, family), [seen.profileId], 'only the patient seen at Lake');
      assert.deepEqual(await ids(riverDesk, family), [], 'River has seen neither');
      assert.deepEqual(await ids(admin, family), [seen.profileId, unseen.profileId], 'admins see everyone');
      assert.deepEqual(await ids(lakeDesk, '000101'), [seen.profileId]);
      assert.deepEqual(await ids(lakeDesk, '000202'), [], 'no digit fragments of strangers');
      const prefix = unseen.email.slice(0, unseen.email.indexOf('@') + 1);
      assert.deepEqual(await ids(lakeDesk, prefix), [], 'no e-mail prefixes of strangers');

      // A whole address or number finds a patient new to the hospital, to book them.
      assert.deepEqual(await ids(riverDesk, unseen.email.toUpperCase()), [unseen.profileId]);
      assert.deepEqual(await ids(riverDesk, '01712-000202'), [unseen.profileId]);
      assert.deepEqual(await ids(riverDesk, seen.email), [seen.profileId]);
      const deskWithoutHospital = await makeUser(app, 'staff');
      assert.deepEqual(await ids(deskWithoutHospital, family), []);
      assert.deepEqual(await ids(deskWithoutHospital, '+8801712000202'), [unseen.profileId]);
    });

    test("a name fragment in any case finds profiles by their own name and by their account holder's", async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const family = surname();
      const holder = await makeUser(app, 'patient', { name: `Amina ${family.toUpperCase()}` });
      const child = await addDependent(app, holder, 'Rumi Child');
      const other = await makeUser(app, 'patient', { name: 'Other Holder' });
      const niece = await addDependent(app, other, `Nila ${family.toLowerCase()}-Sen`);
      const gone = await addDependent(app, other, `Gone ${family}`);
      const removed = await app.inject({
        method: 'DELETE',
        url: `/v1/me/dependents/${gone}`,
        headers: other.auth,
      });
      assert.equal(removed.statusCode, 204);

      // The middle of the surname, in mixed case: neither end of the stored names, nor their case.
      const inner = family.slice(1, -1);
      const fragment = [...inner].map((c, i) => (i % 2 ? c.toUpperCase() : c.toLowerCase())).join('');
      const res = await search(app, admin, fragment);
      assert.equal(res.statusCode, 200);
      assert.deepEqual(
        res.json().items.map((i: { profileId: string; accountId: string }) => [i.profileId, i.accountId]),
        [
          [holder.profileId, holder.id], // own name and account name
          [niece, other.id], // own name only
          [child, holder.id], // account holder's name only
        ],
      );
    });

    test('name and phone fragments, e-mail prefixes and whole numbers are matched through indexes', async () => {
      const { app } = shared.current;
      const tag = randomBytes(4).toString('hex');
      const indexes = async (filter: Omit<PatientFilter, 'limit'>) => {
        let used: string[] = [];
        const rolledBack = app.db.transaction().execute(async (trx) => {
          // Enough rows, with statistics, that the planner weighs indexes as it would for a clinic; rolled back.
          await sql`
            insert into users (email, password_hash, role, name, phone)
            select 'trgm-' || ${tag} || '-' || i || '@example.test', 'x', 'patient', 'Filler ' || md5(i::text),
              '+88017' || lpad(i::text, 8, '0')
            from generate_series(1, 2000) as i`.execute(trx);
          await sql`
            insert into patient_profiles (account_id, is_self, name, relation, phone)
            select id, true, name, 'self', phone from users where email::text like ${`trgm-${tag}-%`}`.execute(
            trx,
          );
          await sql`analyze users, patient_profiles`.execute(trx);
          // New GIN entries wait in a pending list (priced as a scan of it) until a vacuum merges them.
          await sql`
            select gin_clean_pending_list(indexrelid) from pg_index
            where indrelid in ('users'::regclass, 'patient_profiles'::regclass)
              and indexrelid::regclass::text like '%trgm_idx'`.execute(trx);
          // Scans priced out, so only an index built on the very expression the query compares can serve it.
          await sql`set local enable_seqscan = off`.execute(trx);
          const plan = await patientSearchQuery(trx, { ...filter, limit: 21 }).explain();
          const text = plan.map((row) => Object.values(row).join(' ')).join('\n');
          used = [
            ...new Set(
              [
                ...text.matchAll(
                  /\b(appointments_profile_idx|session_days_\w+|\w+_(?:trgm|prefix|phone)_idx)\b/g,
                ),
              ].map((m) => m[1]),
            ),
          ].sort();
          throw new Error('rollback');
        });
        await assert.rejects(rolledBack, /rollback/);
        return used;
      };
      assert.deepEqual(await indexes({ name: 'quraish' }), [
        'patient_profiles_name_trgm_idx',
        'users_name_trgm_idx',
      ]);
      assert.deepEqual(await indexes({ phoneDigits: '5550123' }), [
        'patient_profiles_phone_digits_trgm_idx',
        'users_phone_digits_trgm_idx',
      ]);
      // Migration 0010: an e-mail prefix and a whole number on either the profile or the account.
      assert.deepEqual(await indexes({ emailPrefix: `trgm-${tag}-12` }), ['users_email_prefix_idx']);
      assert.deepEqual(await indexes({ phone: '+8801700000123' }), [
        'patient_profiles_phone_idx',
        'users_phone_idx',
      ]);
      // A desk's lookup keeps the same index scans; whether the hospital has seen a match is checked per match
      // (its appointments by profile, their queues by key), never by reading the hospital's days or appointments.
      const seenAt = randomUUID();
      assert.deepEqual(await indexes({ name: 'quraish', seenAt }), [
        'appointments_profile_idx',
        'patient_profiles_name_trgm_idx',
        'session_days_pkey',
        'users_name_trgm_idx',
      ]);
      assert.deepEqual(await indexes({ phoneDigits: '5550123', seenAt }), [
        'appointments_profile_idx',
        'patient_profiles_phone_digits_trgm_idx',
        'session_days_pkey',
        'users_phone_digits_trgm_idx',
      ]);
      assert.deepEqual(await indexes({ emailPrefix: `trgm-${tag}-12`, seenAt }), [
        'appointments_profile_idx',
        'session_days_pkey',
        'users_email_prefix_idx',
      ]);
    });

    test('an admin searches too; no match answers an empty list', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const res = await search(app, admin, surname());
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { items: [], nextCursor: null });
      const noPhone = await search(app, admin, '+8801999999999');
      assert.deepEqual(noPhone.json(), { items: [], nextCursor: null });
    });

    test('results page with a cursor; a tampered cursor or a blank query is 400', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const family = surname();
      for (const first of ['Bina', 'Anis', 'Chandra'])
        await makeUser(app, 'patient', { name: `${first} ${family}` });
      const first = await search(app, admin, family, '&limit=2');
      assert.deepEqual(
        first.json().items.map((i: { name: string }) => i.name),
        [`Anis ${family}`, `Bina ${family}`],
      );
      assert.ok(first.json().nextCursor);
      const second = await search(app, admin, family, `&limit=2&cursor=${first.json().nextCursor}`);
      assert.deepEqual(
        second.json().items.map((i: { name: string }) => i.name),
        [`Chandra ${family}`],
      );
      assert.equal(second.json().nextCursor, null);
      const tampered = await search(app, admin, family, '&cursor=bm90LWEtY3Vyc29y');
      assert.equal(tampered.statusCode, 400);
      assert.equal(tampered.json().code, 'VALIDATION_FAILED');
      const blank = await search(app, admin, '   ');
      assert.equal(blank.statusCode, 400);
      assert.equal(blank.json().code, 'VALIDATION_FAILED');
    });

    test('the lookup is rate limited per user, not per address', async () => {
      const { app } = shared.current;
      const hospitalId = await makeHospital(app);
      const busy = await makeUser(app, 'staff', { hospitalId });
      const other = await makeUser(app, 'staff', { hospitalId });
      const statuses: number[] = [];
      for (let i = 0; i < 61; i++) statuses.push((await search(app, busy, 'Karim')).statusCode);
      assert.deepEqual(statuses.slice(0, 60), Array(60).fill(200));
      assert.equal(statuses[60], 429);
      assert.equal((await search(app, busy, 'Karim')).json().code, 'RATE_LIMITED');
      assert.equal(
        (await search(app, other, 'Karim')).statusCode,
        200,
        'a colleague at the same desk is not throttled',
      );
    });

    test('staff register a walk-in patient with a phone only; they are found and can be booked', async () => {
      const { app } = shared.current;
      const hospitalId = await makeHospital(app);
      const staff = await makeUser(app, 'staff', { hospitalId });
      const name = `Walkin ${surname()}`;
      const created = await register(app, staff, { name, phone: '01819-000111', dateOfBirth: '1980-02-03' });
      assert.equal(created.statusCode, 201);
      const body = created.json();
      assert.equal(body.id, body.profileId);
      assert.equal(body.name, name);
      assert.equal(body.phone, '+8801819000111');
      assert.equal(body.relation, 'self');
      assert.equal(body.accountEmail, null, 'no e-mail given: none shown');
      assert.equal(body.dateOfBirth, '1980-02-03');

      const found = await search(app, staff, '+8801819000111');
      assert.ok(found.json().items.some((i: { profileId: string }) => i.profileId === body.profileId));

      // Messages go by SMS only: the placeholder address must never be mailed.
      const prefs = await app.db
        .selectFrom('notificationPreferences')
        .select('channels')
        .where('userId', '=', body.accountId)
        .executeTakeFirstOrThrow();
      assert.deepEqual(prefs.channels, ['sms']);
      const audit = await app.db
        .selectFrom('auditLog')
        .select(['actorId', 'action'])
        .where('targetId', '=', body.accountId)
        .execute();
      assert.deepEqual(audit, [{ actorId: staff.id, action: 'patient.registered_at_desk' }]);

      // The desk books the new patient on their behalf.
      const doctor = await makeDoctor(app);
      const tomorrow = DateTime.now().setZone('Asia/Dhaka').plus({ days: 1 });
      const sessionId = await makeSession(app, {
        doctorId: doctor.doctorId,
        hospitalId,
        weekday: tomorrow.weekday,
      });
      const booked = await app.inject({
        method: 'POST',
        url: '/v1/appointments',
        headers: staff.auth,
        payload: { sessionId, date: tomorrow.toISODate(), profileId: body.profileId },
      });
      assert.equal(booked.statusCode, 201, booked.body);
      assert.equal(booked.json().serial, 1);
    });

    test('registration with an e-mail makes an account that keeps it; a taken e-mail is 409 and adds nothing', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const email = uniqueEmail('desk-made');
      const created = await register(app, admin, { name: 'Mail Patient', email });
      assert.equal(created.statusCode, 201);
      assert.equal(created.json().accountEmail, email);
      assert.equal(created.json().phone, null);
      const account = await app.db
        .selectFrom('users')
        .select(['role', 'email'])
        .where('id', '=', created.json().accountId)
        .executeTakeFirstOrThrow();
      assert.deepEqual(account, { role: 'patient', email });

      const before = await counts(app);
      const again = await register(app, admin, { name: 'Mail Patient Twin', email });
      assert.equal(again.statusCode, 409);
      assert.equal(again.json().code, 'CONFLICT');
      assert.deepEqual(await counts(app), before);
    });

    test('a desk registration gives the same account rows as a self-registration, plus its audit entry', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const name = `Same ${surname()}`;
      const self = await app.inject({
        method: 'POST',
        url: '/v1/auth/register',
        payload: {
          email: uniqueEmail('self'),
          password: PASSWORD,
          name,
          phone: '01711000222',
          role: 'patient',
        },
      });
      assert.equal(self.statusCode, 201, self.body);
      const desk = await register(app, admin, { name, email: uniqueEmail('desk'), phone: '01711000222' });
      assert.equal(desk.statusCode, 201, desk.body);
      const rowsOf = async (userId: string) => ({
        user: await app.db
          .selectFrom('users')
          .select(['role', 'name', 'phone', 'hospitalId', 'disabledAt'])
          .where('id', '=', userId)
          .executeTakeFirstOrThrow(),
        profiles: await app.db
          .selectFrom('patientProfiles')
          .select(['isSelf', 'relation', 'name', 'phone', 'dateOfBirth', 'sex', 'deletedAt'])
          .where('accountId', '=', userId)
          .execute(),
        preferences: await app.db
          .selectFrom('notificationPreferences')
          .select('channels')
          .where('userId', '=', userId)
          .execute(),
        audit: await app.db
          .selectFrom('auditLog')
          .select(['actorId', 'action'])
          .where('targetId', '=', userId)
          .execute(),
      });
      const selfRows = await rowsOf(self.json().user.id);
      const deskRows = await rowsOf(desk.json().accountId);
      assert.deepEqual(selfRows.user, {
        role: 'patient',
        name,
        phone: '+8801711000222',
        hospitalId: null,
        disabledAt: null,
      });
      assert.deepEqual(deskRows.user, selfRows.user);
      assert.equal(selfRows.profiles.length, 1);
      assert.deepEqual(deskRows.profiles, selfRows.profiles);
      assert.deepEqual(selfRows.preferences, [], 'an account with an e-mail keeps the default channels');
      assert.deepEqual(deskRows.preferences, selfRows.preferences);
      assert.deepEqual(selfRows.audit, []);
      assert.deepEqual(deskRows.audit, [{ actorId: admin.id, action: 'patient.registered_at_desk' }]);
    });

    test('registration without a phone or an e-mail, or with a bad phone, is 400 and adds nothing', async () => {
      const { app } = shared.current;
      const admin = await makeUser(app, 'admin');
      const before = await counts(app);
      for (const payload of [
        { name: 'No Contact' },
        { name: 'Bad Phone', phone: '12' },
        { name: 'Bad Phone', phone: 'not a number' },
        { name: '', phone: '01711000111' },
        { name: 'Extra', phone: '01711000111', role: 'admin' },
      ]) {
        const res = await register(app, admin, payload);
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.equal(res.json().code, 'VALIDATION_FAILED');
      }
      assert.deepEqual(await counts(app), before);
    });

    test('/docs lists the patient routes with their responses', async () => {
      const { app } = shared.current;
      const spec = (await app.inject({ url: '/docs/json' })).json();
      const path = spec.paths['/v1/patients'];
      assert.ok(path, 'documented');
      assert.deepEqual(Object.keys(path.get.responses).sort(), ['200', '400', '401', '403', '429']);
      assert.deepEqual(Object.keys(path.post.responses).sort(), ['201', '400', '401', '403', '409', '429']);
    });
  });
}
