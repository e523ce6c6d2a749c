// Bulk directory data for the search benchmark: N verified doctors with realistic names, specializations,
// qualifications and sessions spread over M hospitals. Deterministic (seeded PRNG), batched, with a progress bar.
// Standalone: DATABASE_URL=postgres://… npx tsx test/bench/search-seed.ts [doctors] [hospitals]
import { sql } from 'kysely';
import type { DB } from '../../src/db/database.js';

export const FIRST = [
  'Ayesha',
  'Tanvir',
  'Rahima',
  'Farhana',
  'Mahbub',
  'Nusrat',
  'Shafiqul',
  'Karim',
  'Nadia',
  'Sadia',
  'Rafiq',
  'Jamal',
  'Sharmin',
  'Imran',
  'Tasnim',
  'Arif',
  'Mehedi',
  'Sumaiya',
  'Habib',
  'Rokeya',
  'Anisur',
  'Fatema',
  'Mizanur',
  'Shirin',
  'Kamrul',
  'Nasrin',
  'Zahid',
  'Lubna',
  'Towhid',
  'Mariam',
];
export const LAST = [
  'Rahman',
  'Chowdhury',
  'Begum',
  'Islam',
  'Alam',
  'Jahan',
  'Haque',
  'Hossain',
  'Ahmed',
  'Khan',
  'Sarkar',
  'Uddin',
  'Akter',
  'Miah',
  'Talukder',
  'Sheikh',
  'Bhuiyan',
  'Siddiqui',
  'Mollah',
  'Kabir',
];
export const CITIES = [
  'Dhaka',
  'Chattogram',
  'Sylhet',
  'Rajshahi',
  'Khulna',
  'Barishal',
  'Rangpur',
  'Mymensingh',
];
export const SPECIALIZATIONS = [
  'Cardiology',
  'Pediatrics',
  'Gynecology',
  'Dermatology',
  'Orthopedics',
  'Medicine',
  'ENT',
  'Neurology',
];
const QUALIFICATIONS = ['MBBS', 'FCPS', 'MD', 'MS', 'FRCS', 'MRCP'];

/** mulberry32: a tiny deterministic PRNG so every run benchmarks the same data. */
function prng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function progressBar(label: string, total: number) {
  const width = 30;
  const draw = (done: number) => {
    const filled = Math.round((done / total) * width);
    process.stderr.write(
      `\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${done === total ? '\n' : ''}`,
    );
  };
  draw(0);
  return draw;
}

/**
 * A history for sort=popular: closed queues on about 30% of each session's days over the last 17 weeks, with
 * 1–6 completed walk-in visits each, so recent-visit counts (90 days) differ from all-time ones. Set-based SQL:
 * a few hundred thousand rows in seconds.
 */
async function seedPastVisits(db: DB): Promise<number> {
  await sql`select setseed(0.42)`.execute(db);
  await sql`insert into session_days (session_id, doctor_id, hospital_id, date, starts_at, ends_at, capacity,
      slot_minutes, status)
    select s.id, s.doctor_id, s.hospital_id, d::date, d + time '11:00', d + time '14:00', s.capacity,
      s.slot_minutes, 'closed'
    from sessions s cross join generate_series(current_date - 119, current_date - 1, interval '1 day') d
    where extract(isodow from d) = s.weekday and random() < 0.3`.execute(db);
  const result =
    await sql`insert into appointments (queue_id, doctor_id, date, serial, position_key, kind, status,
      estimated_at, tracking_token_hash, walk_in_name, completed_at)
    select sd.id, sd.doctor_id, sd.date, g, g, 'walk_in', 'completed', sd.starts_at + (g - 1) * interval '10 min',
      md5(sd.id::text || g), 'Bench Patient', sd.starts_at + g * interval '10 min'
    from session_days sd cross join lateral generate_series(1, 1 + abs(hashtext(sd.id::text)) % 6) g`.execute(
      db,
    );
  return Number(result.numAffectedRows ?? 0);
}

export interface SeedResult {
  hospitalIds: string[];
  cities: string[];
}

export async function seedSearchData(db: DB, doctors = 10_000, hospitals = 50): Promise<SeedResult> {
  const random = prng(42);
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const hospitalRows = await db
    .insertInto('hospitals')
    .values(
      Array.from({ length: hospitals }, (_, i) => ({
        name: `${pick(LAST)} ${pick(['General', 'Medical', 'Specialized', 'Community'])} Hospital ${i + 1}`,
        city: CITIES[i % CITIES.length],
        timezone: 'Asia/Dhaka',
      })),
    )
    .returning('id')
    .execute();
  const hospitalIds = hospitalRows.map((r) => r.id);
  const specIds = (
    await db
      .insertInto('specializations')
      .values(SPECIALIZATIONS.map((name) => ({ name })))
      .returning('id')
      .execute()
  ).map((r) => r.id);
  const qualIds = (
    await db
      .insertInto('qualifications')
      .values(QUALIFICATIONS.map((name) => ({ name })))
      .returning('id')
      .execute()
  ).map((r) => r.id);

  const batch = 500;
  const draw = progressBar(`seeding ${doctors} doctors`, doctors);
  for (let start = 0; start < doctors; start += batch) {
    const size = Math.min(batch, doctors - start);
    const names = Array.from({ length: size }, () => `Dr. ${pick(FIRST)} ${pick(LAST)}`);
    const users = await db
      .insertInto('users')
      .values(
        names.map((name, i) => ({
          email: `bench-${start + i}@bench.test`,
          passwordHash: 'x',
          role: 'doctor' as const,
          name,
          phone: null,
        })),
      )
      .returning('id')
      .execute();
    const docs = await db
      .insertInto('doctors')
      .values(
        users.map((u, i) => ({
          userId: u.id,
          name: names[i],
          licenseNo: `BMDC-B-${String(start + i).padStart(6, '0')}`,
          verifiedAt: random() < 0.95 ? new Date() : null,
          experienceYears: Math.floor(random() * 30),
          ratingSum: 0,
          ratingCount: 0,
        })),
      )
      .returning('id')
      .execute();
    await db
      .insertInto('doctorSpecializations')
      .values(docs.map((d) => ({ doctorId: d.id, specializationId: pick(specIds) })))
      .execute();
    await db
      .insertInto('doctorQualifications')
      .values(
        docs.map((d) => ({ doctorId: d.id, qualificationId: pick(qualIds), institute: 'DMC', year: 2010 })),
      )
      .execute();
    await db
      .insertInto('sessions')
      .values(
        docs.flatMap((d) =>
          Array.from({ length: 1 + Math.floor(random() * 2) }, () => ({
            doctorId: d.id,
            hospitalId: pick(hospitalIds),
            weekday: 1 + Math.floor(random() * 7),
            startTime: '17:00',
            endTime: '20:00',
            slotMinutes: 10,
            capacity: 18,
          })),
        ),
      )
      .execute();
    draw(start + size);
  }
  const visits = await seedPastVisits(db);
  process.stderr.write(`seeded ${visits} completed visits over the last 17 weeks\n`);
  // Steady state, as autovacuum leaves it: statistics and a visibility map for index-only scans.
  await sql`vacuum analyze`.execute(db);
  return { hospitalIds, cities: CITIES };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const url = process.env.DATABASE_URL;
  if (!url) {
    console.error('DATABASE_URL must name a migrated, empty database');
    process.exit(2);
  }
  const { openDatabase } = await import('../../src/db/connect.js');
  const { migrateToLatest } = await import('../../src/db/migrate.js');
  const handle = await openDatabase({ url });
  await migrateToLatest(handle.db);
  await seedSearchData(handle.db, Number(process.argv[2] ?? 10_000), Number(process.argv[3] ?? 50));
  await handle.db.destroy();
}
