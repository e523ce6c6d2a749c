// Profile: how many Postgres round trips one booking costs, and which. Real Postgres, one in-process app;
// every statement sent by a pg client is counted (begin/commit included) while N bookings run one by one.
// Run: npx tsx test/bench/booking-queries.ts   (bounded: a few seconds)
import { DateTime } from 'luxon';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { DUMMY_HASH } from '../../src/lib/password.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { hasPostgres } from '../helpers/services.js';

const BOOKINGS = Number(process.env.BENCH_BOOKINGS ?? 20);

if (!(await hasPostgres())) {
  console.error('needs Postgres at 127.0.0.1:5432');
  process.exit(2);
}

let counting = false;
const statements: string[] = [];
/** Milliseconds from sending a statement to its result, summed per statement text. */
const waits = new Map<string, number>();
const original = pg.Client.prototype.query;
pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
  const result = (original as (...a: unknown[]) => unknown).apply(this, args);
  if (counting) {
    const q = args[0] as string | { text: string };
    const text = typeof q === 'string' ? q : q.text;
    statements.push(text);
    const started = performance.now();
    if (result instanceof Promise) {
      const add = () => waits.set(text, (waits.get(text) ?? 0) + performance.now() - started);
      result.then(add, add);
    }
  }
  return result;
} as typeof original;

const database = await createPostgresDatabase();
const app = await buildApp(
  loadConfig({
    DATABASE_URL: database.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    SEED_DEMO: 'false',
  }),
  { logger: false },
);
try {
  await app.ready();
  const date = DateTime.utc().plus({ days: 1 }).toISODate() as string;
  const weekday = DateTime.fromISO(date, { zone: 'UTC' }).weekday;
  const hospital = await app.db
    .insertInto('hospitals')
    .values({ name: 'Profile Hospital', city: 'X', timezone: 'UTC' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const docUser = await app.db
    .insertInto('users')
    .values({ email: 'profile-doc@example.test', passwordHash: DUMMY_HASH, role: 'doctor', name: 'Dr P' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const doctor = await app.db
    .insertInto('doctors')
    .values({ userId: docUser.id, name: 'Dr P', verifiedAt: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  const session = await app.db
    .insertInto('sessions')
    .values({
      doctorId: doctor.id,
      hospitalId: hospital.id,
      weekday,
      startTime: '08:00',
      endTime: '20:00',
      slotMinutes: 1,
      capacity: 1000,
      fee: 500,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const users = await app.db
    .insertInto('users')
    .values(
      Array.from({ length: BOOKINGS + 1 }, (_, i) => ({
        email: `profile-${i}@example.test`,
        passwordHash: DUMMY_HASH,
        role: 'patient' as const,
        name: `P ${i}`,
      })),
    )
    .returning('id')
    .execute();
  await app.db
    .insertInto('patientProfiles')
    .values(users.map((u) => ({ accountId: u.id, isSelf: true, name: 'P' })))
    .execute();
  const book = (userId: string, headers: Record<string, string> = {}) =>
    app.inject({
      method: 'POST',
      url: '/v1/appointments',
      headers: {
        authorization: `Bearer ${app.signAccessToken({ id: userId, role: 'patient' })}`,
        ...headers,
      },
      payload: { sessionId: session.id, date },
    });
  // The first booking creates the day's queue row; the steady state is what follows.
  const first = await book(users[0].id);
  if (first.statusCode !== 201) throw new Error(`first booking: ${first.statusCode} ${first.body}`);

  const perKind = new Map<string, { n: number; ms: number }>();
  counting = true;
  const t0 = performance.now();
  for (let i = 1; i <= BOOKINGS; i++) {
    const r = await book(users[i].id, i % 2 === 0 ? { 'idempotency-key': `k-${i}` } : {});
    if (r.statusCode !== 201) throw new Error(`booking ${i}: ${r.statusCode} ${r.body}`);
  }
  const ms = performance.now() - t0;
  counting = false;
  for (const s of statements) {
    const key = s.replace(/\s+/g, ' ').trim().slice(0, 100);
    const k = perKind.get(key) ?? { n: 0, ms: 0 };
    k.n++;
    perKind.set(key, k);
  }
  for (const [text, ms] of waits) {
    const k = perKind.get(text.replace(/\s+/g, ' ').trim().slice(0, 100));
    if (k) k.ms += ms;
  }
  console.log(
    `queries per booking: ${(statements.length / BOOKINGS).toFixed(1)} ` +
      `(${statements.length} over ${BOOKINGS} sequential bookings, half with an Idempotency-Key); ` +
      `${(ms / BOOKINGS).toFixed(1)} ms per booking`,
  );
  console.log('  per booking: count × statement (mean ms from send to result, pool wait excluded)');
  for (const [text, k] of [...perKind].sort((a, b) => b[1].n - a[1].n))
    console.log(
      `  ${(k.n / BOOKINGS).toFixed(2).padStart(5)}× ${(k.ms / k.n).toFixed(2).padStart(6)} ms  ${text}`,
    );

  // The refusal path: a second booking by the same patient (ALREADY_BOOKED).
  statements.length = 0;
  counting = true;
  const dup = await book(users[1].id);
  counting = false;
  console.log(`ALREADY_BOOKED refusal (${dup.statusCode}): ${statements.length} queries`);
} finally {
  await app.close();
  await database.drop();
}
