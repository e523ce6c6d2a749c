// Benchmark: one reminder scan tick over 1,000,000 appointments (target < 50 ms, with its EXPLAIN ANALYZE),
// against the same scan with index scans disabled (the baseline); then outbox drain throughput to the fake
// Twilio through the real SDK, against bare POSTs to the same fake at the same concurrency.
// Run: npx tsx test/bench/reminders.ts   (bounded: fixed row counts; needs Postgres on 127.0.0.1)
import { CamelCasePlugin, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import type { Database } from '../../src/db/database.js';
import { reminderCandidates } from '../../src/modules/notifications/notifications.reminders.repository.js';
import { DEFAULT_OFFSETS } from '../../src/modules/notifications/notifications.rules.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { FAKE_SID, FAKE_TOKEN, FakeTwilio, twilioEnv } from '../helpers/fake-twilio.js';

const APPOINTMENTS = 1_000_000;
const DOCTORS = 100;
const PER_DAY = 100;
const DAYS = APPOINTMENTS / (DOCTORS * PER_DAY);
const DRAIN_MESSAGES = 2000;
const TARGET_MS = 50;

function progress(label: string, done: number, total: number) {
  const width = 30;
  const filled = Math.round((done / total) * width);
  process.stderr.write(
    `\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${Math.round((done / total) * 100)}% ${done.toLocaleString()}/${total.toLocaleString()}`,
  );
  if (done === total) process.stderr.write('\n');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function seed(db: Kysely<Database>) {
  await sql`
    insert into hospitals (name, city, timezone) values ('Bench Hospital', 'Dhaka', 'Asia/Dhaka');
    insert into users (email, password_hash, role, name)
      select 'bench-doctor-' || i || '@bench.test', 'x', 'doctor', 'Dr. Bench ' || i from generate_series(1, ${sql.lit(DOCTORS)}) i;
    insert into doctors (user_id, name) select id, name from users where role = 'doctor';
    insert into users (email, phone, password_hash, role, name)
      select 'bench-patient-' || i || '@bench.test', '+8801711' || lpad(i::text, 6, '0'), 'x', 'patient', 'Patient ' || i
        from generate_series(1, 1000) i;
    insert into patient_profiles (account_id, is_self, name) select id, true, name from users where role = 'patient';
    insert into sessions (doctor_id, hospital_id, weekday, start_time, end_time, slot_minutes, capacity)
      select d.id, h.id, 1, '09:00', '17:20', 5, ${sql.lit(PER_DAY)} from doctors d, hospitals h;
    insert into session_days (session_id, doctor_id, hospital_id, date, starts_at, ends_at, capacity, slot_minutes)
      select s.id, s.doctor_id, s.hospital_id, (current_date + day)::date,
             ((current_date + day)::timestamp + time '09:00') at time zone 'Asia/Dhaka',
             ((current_date + day)::timestamp + time '17:20') at time zone 'Asia/Dhaka', ${sql.lit(PER_DAY)}, 5
        from sessions s, generate_series(${sql.lit(-Math.floor(DAYS / 2))}, ${sql.lit(Math.ceil(DAYS / 2) - 1)}) day;
  `.execute(db);
  const days = await db.selectFrom('sessionDays').select(['id']).orderBy('date').execute();
  const chunk = Math.ceil(days.length / 20);
  for (let i = 0; i < days.length; i += chunk) {
    const ids = days.slice(i, i + chunk).map((d) => d.id);
    await sql`
      insert into appointments (queue_id, doctor_id, date, profile_id, serial, position_key, estimated_at,
                                tracking_token_hash, status)
      select q.id, q.doctor_id, q.date, p.ids[1 + (abs(hashtext(q.id::text)) + s) % 1000], s, s,
             q.starts_at + make_interval(mins => (s - 1) * 5), md5(q.id::text || ':' || s),
             case when q.starts_at < now() then 'completed' else 'booked' end
        from session_days q cross join generate_series(1, ${sql.lit(PER_DAY)}) s
             cross join (select array_agg(id order by id) as ids from patient_profiles) p
       where q.id = any(${sql.val(ids)}::uuid[])
    `.execute(db);
    progress('seeding appointments', Math.min(i + chunk, days.length) * PER_DAY, APPOINTMENTS);
  }
  await sql`analyze`.execute(db);
}

async function main() {
  const database = await createPostgresDatabase();
  const fake = await FakeTwilio.start();
  // 11:00 in Dhaka tomorrow: inside session hours, so each tick has reminders due (1 h and 24 h ahead).
  const tomorrow = new Date(Date.now() + 86400_000);
  const clock = new ManualClock(
    new Date(Date.UTC(tomorrow.getUTCFullYear(), tomorrow.getUTCMonth(), tomorrow.getUTCDate(), 5)),
  );
  const config = loadConfig({
    DATABASE_URL: database.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    NOTIFY_CRON: 'false',
    NOTIFY_EMAIL: 'log',
    ...twilioEnv(fake),
  });
  const app = await buildApp(config, {
    database: await openDatabase({ url: database.url }),
    clock,
    logger: false,
  });
  const captured: { sql: string; parameters: readonly unknown[] }[] = [];
  const probe = new Kysely<Database>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }),
    plugins: [new CamelCasePlugin()],
    log: (event) => {
      if (event.level === 'query')
        captured.push({ sql: event.query.sql, parameters: event.query.parameters });
    },
  });
  try {
    console.log(
      `reminder scan over ${APPOINTMENTS.toLocaleString()} appointments (${DOCTORS} doctors × ${DAYS} days × ${PER_DAY})`,
    );
    const seeded = performance.now();
    await seed(app.db);
    console.log(`seeded in ${((performance.now() - seeded) / 1000).toFixed(1)} s`);

    await app.notifications.scanReminders(); // creates the watermark
    const ticks: number[] = [];
    let enqueued = 0;
    for (let i = 0; i < 7; i++) {
      clock.advance(60_000);
      const started = performance.now();
      const result = await app.notifications.scanReminders();
      ticks.push(performance.now() - started);
      enqueued += result.enqueued;
    }
    const tick = median(ticks);

    const now = clock.now();
    const range = { from: new Date(now.getTime() - 60_000), to: new Date(now.getTime() + 4 * 60_000), now };
    captured.length = 0;
    await reminderCandidates(probe, range, DEFAULT_OFFSETS, DEFAULT_OFFSETS);
    const query = captured[0];
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const plan = await client.query(`explain (analyze, buffers) ${query.sql}`, query.parameters as unknown[]);
    const timeQuery = async () => {
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const started = performance.now();
        await client.query(query.sql, query.parameters as unknown[]);
        times.push(performance.now() - started);
      }
      return median(times);
    };
    const indexed = await timeQuery();
    await client.query('set enable_indexscan = off; set enable_bitmapscan = off');
    const baseline = await timeQuery();
    await client.query('reset enable_indexscan; reset enable_bitmapscan');
    await client.end();

    console.log('\nEXPLAIN ANALYZE of the candidate query:');
    for (const row of plan.rows) console.log(`  ${row['QUERY PLAN']}`);
    console.log(
      `\nscan tick (median of ${ticks.length}, ${enqueued} reminder rows enqueued in all): ${tick.toFixed(1)} ms — target < ${TARGET_MS} ms: ${tick < TARGET_MS ? 'met' : 'NOT met'}`,
    );
    console.log(
      `candidate query: ${indexed.toFixed(2)} ms with the index vs ${baseline.toFixed(2)} ms without (baseline) → ${(baseline / indexed).toFixed(1)}× faster`,
    );

    // Outbox drain throughput.
    await app.db.deleteFrom('notificationOutbox').execute();
    const rows = Array.from({ length: DRAIN_MESSAGES }, (_, i) => ({
      dedupeKey: `bench:${i}`,
      kind: 'notice',
      channel: 'sms' as const,
      recipient: `+8801711${String(100000 + i).slice(-6)}`,
      payload: JSON.stringify({ tz: 'Asia/Dhaka', text: `bench ${i}` }),
      urgent: true,
      sendAfter: new Date(clock.now().getTime() - 1000),
    }));
    for (let i = 0; i < rows.length; i += 500)
      await app.db
        .insertInto('notificationOutbox')
        .values(rows.slice(i, i + 500))
        .execute();
    fake.reset();
    const drainStarted = performance.now();
    await app.notifications.worker.drainAll();
    const drainSeconds = (performance.now() - drainStarted) / 1000;
    const sent = fake.messages.length;

    const auth = `Basic ${Buffer.from(`${FAKE_SID}:${FAKE_TOKEN}`).toString('base64')}`;
    let next = 0;
    const bareStarted = performance.now();
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < DRAIN_MESSAGES) {
          const i = next++;
          await fetch(`${fake.url}/2010-04-01/Accounts/${FAKE_SID}/Messages.json`, {
            method: 'POST',
            headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
            body: new URLSearchParams({
              To: rows[i].recipient,
              From: '+15005550006',
              Body: `bare ${i}`,
            }).toString(),
          });
        }
      }),
    );
    const bareSeconds = (performance.now() - bareStarted) / 1000;
    const drainRate = sent / drainSeconds;
    const bareRate = DRAIN_MESSAGES / bareSeconds;
    console.log(
      `outbox drain: ${sent} messages in ${drainSeconds.toFixed(2)} s = ${drainRate.toFixed(0)} messages/s ` +
        `(bare POSTs to the fake: ${bareRate.toFixed(0)}/s; ratio ${(drainRate / bareRate).toFixed(2)})`,
    );
  } finally {
    await probe.destroy();
    await app.close();
    await fake.stop();
    await database.drop();
  }
}

await main();
