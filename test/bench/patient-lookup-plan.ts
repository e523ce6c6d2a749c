// Plan check of the front-desk patient lookup on real Postgres: a fresh migrated database with 20,000 patient
// accounts (each with its own profile) and 5,000 dependents, then EXPLAIN ANALYZE of the exact queries
// GET /v1/patients runs, so a change to the lookup or its indexes shows whether it still avoids a full scan.
// Standalone: npx tsx test/bench/patient-lookup-plan.ts [accounts] (Postgres from DATABASE_URL or the default).
import { CompiledQuery, sql } from 'kysely';
import { openDatabase } from '../../src/db/connect.js';
import type { DB } from '../../src/db/database.js';
import { type PatientFilter, patientSearchQuery } from '../../src/modules/patients/patients.repository.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { FIRST, LAST } from './search-seed.js';

const accounts = Number(process.argv[2] ?? 20_000);

async function seed(db: DB): Promise<void> {
  // Names and numbers come from the row number, so every run plans over the same data.
  await sql`
    insert into users (email, password_hash, role, name, phone)
    select 'lookup-' || i || '@bench.test', 'x', 'patient',
      (${sql.val(FIRST)}::text[])[1 + i % ${FIRST.length}] || ' ' || (${sql.val(LAST)}::text[])[1 + (i / 7) % ${LAST.length}]
        || ' ' || substr(md5(i::text), 1, 6),
      '+8801' || lpad(((i::bigint * 7919) % 1000000000)::text, 9, '0')
    from generate_series(1, ${accounts}) as i`.execute(db);
  await sql`
    insert into patient_profiles (account_id, is_self, name, relation, phone)
    select id, true, name, 'self', phone from users where role = 'patient'`.execute(db);
  await sql`
    insert into patient_profiles (account_id, is_self, name, relation)
    select id, false, 'Child ' || substr(md5(id::text), 1, 8), 'child' from users
    where role = 'patient' and email like 'lookup-%' and random() < 0.25`.execute(db);
  // The probes: a rare surname on an account holder (dependents found through the holder's name), and a
  // dependent whose own name is the only match.
  await sql`
    with holder as (
      insert into users (email, password_hash, role, name, phone)
      values ('probe@bench.test', 'x', 'patient', 'Zubaida Quraishi', '+8801555012345') returning id, name, phone
    ), self as (
      insert into patient_profiles (account_id, is_self, name, relation, phone)
      select id, true, name, 'self', phone from holder
    )
    insert into patient_profiles (account_id, is_self, name, relation)
    select id, false, 'Nafisa Quraishi-Tarafdar', 'child' from holder`.execute(db);
  await sql`vacuum analyze`.execute(db);
}

async function explain(db: DB, label: string, filter: Omit<PatientFilter, 'limit'>): Promise<void> {
  const compiled = patientSearchQuery(db, { ...filter, limit: 21 }).compile();
  const plan = await db.executeQuery<{ 'QUERY PLAN': string }>(
    CompiledQuery.raw(`explain (analyze, buffers, timing off) ${compiled.sql}`, [...compiled.parameters]),
  );
  console.log(`\n--- ${label}: ${JSON.stringify(filter)}`);
  for (const row of plan.rows) console.log(row['QUERY PLAN']);
}

const database = await createPostgresDatabase();
const handle = await openDatabase({ url: database.url, poolSize: 1 });
try {
  await seed(handle.db);
  const counts = await sql<{ users: number; profiles: number }>`
    select (select count(*) from users)::int as users, (select count(*) from patient_profiles)::int as profiles`.execute(
    handle.db,
  );
  console.log(`seeded ${JSON.stringify(counts.rows[0])}`);
  await explain(handle.db, 'rare name', { name: 'quraish' });
  await explain(handle.db, 'common name', { name: 'rahman' });
  await explain(handle.db, 'two letters', { name: 'qu' });
  await explain(handle.db, 'phone digits', { phoneDigits: '5550123' });
  await explain(handle.db, 'e-mail prefix', { emailPrefix: 'probe@' });
} finally {
  await handle.db.destroy();
  await database.drop();
}
