// Benchmark: a month report (GET /v1/reports/appointments?period=month) for one hospital over 20 hospitals ×
// 10 doctors × 60 visits a day × 90 days (about 1.08M appointments and their queue events, bulk-generated with
// generate_series), through HTTP with a staff token: p99 target < 200 ms, the query plans printed (EXPLAIN
// ANALYZE). Baseline in the same run: the same statements with index and bitmap scans turned off.
// Run: npm run bench -- reports   (bounded: fixed row counts; needs Postgres on 127.0.0.1)
import { CamelCasePlugin, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import type { Database } from '../../src/db/database.js';
import { report as reportStatement } from '../../src/modules/reports/reports.queries.js';
import type { Report } from '../../src/modules/reports/reports.schema.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { machine, median, ms, percentile, Run, requireServices, scratchDatabase } from './kit.js';

const HOSPITALS = 20;
const DOCTORS_PER_HOSPITAL = 10;
const VISITS_PER_DAY = 60;
const DAYS = 90;
const RUNS = 40;
const TARGET_P99_MS = 200;

/**
 * Every day of the last 90 is a closed day: 5% cancelled (a quarter by staff), 7% no-shows, the rest seen.
 * Patients check in up to 20 minutes early; the call drifts from the slot; the ETA shown at check-in is off
 * by up to ±8 minutes with a range of −3/+4 around it; consults take 3 to 8 minutes.
 */
async function seed(db: Kysely<Database>) {
  await sql`
    insert into hospitals (name, city, timezone)
      select 'Bench Hospital ' || i, 'Dhaka', 'Asia/Dhaka' from generate_series(1, ${sql.lit(HOSPITALS)}) i;
    insert into users (email, password_hash, role, name)
      select 'bench-doctor-' || i || '@bench.test', 'x', 'doctor', 'Dr. Bench ' || i
        from generate_series(1, ${sql.lit(HOSPITALS * DOCTORS_PER_HOSPITAL)}) i;
    insert into doctors (user_id, name, verified_at) select id, name, now() from users where role = 'doctor';
    insert into users (email, password_hash, role, name, hospital_id)
      select 'bench-staff-' || row_number() over (order by id) || '@bench.test', 'x', 'staff', 'Desk', id from hospitals;
    insert into sessions (doctor_id, hospital_id, weekday, start_time, end_time, slot_minutes, capacity, confirmed_at)
      select d.id, h.id, w, '09:00', '14:00', 5, ${sql.lit(VISITS_PER_DAY)}, now()
        from (select id, row_number() over (order by id) - 1 as n from doctors) d
        join (select id, row_number() over (order by id) - 1 as n from hospitals) h
          on h.n = d.n % ${sql.lit(HOSPITALS)}
        cross join generate_series(1, 7) w;
    insert into session_days (session_id, doctor_id, hospital_id, date, starts_at, ends_at, capacity, slot_minutes,
                              status, next_serial, booked_count)
      select s.id, s.doctor_id, s.hospital_id, g.date,
             (g.date + time '09:00') at time zone 'Asia/Dhaka', (g.date + time '14:00') at time zone 'Asia/Dhaka',
             ${sql.lit(VISITS_PER_DAY)}, 5, 'closed', ${sql.lit(VISITS_PER_DAY + 1)}, ${sql.lit(VISITS_PER_DAY)}
        from sessions s
        join (select (current_date - i)::date as date from generate_series(1, ${sql.lit(DAYS)}) i) g
          on extract(isodow from g.date) = s.weekday;
  `.execute(db);
  const days = await db.selectFrom('sessionDays').select('id').orderBy('date').execute();
  const chunk = Math.ceil(days.length / 30);
  for (let i = 0; i < days.length; i += chunk) {
    const ids = days.slice(i, i + chunk).map((d) => d.id);
    await sql`
      with v as (
        select q.id as queue_id, q.doctor_id, q.date, s, q.starts_at + make_interval(mins => (s - 1) * 5) as scheduled,
               abs(hashtext(q.id::text || ':' || s)) as r
          from session_days q cross join generate_series(1, ${sql.lit(VISITS_PER_DAY)}) s
         where q.id = any(${sql.val(ids)}::uuid[])
      ),
      t as (
        select v.*, case when r % 100 < 5 then 'cancelled' when r % 100 < 12 then 'no_show' else 'completed' end as status,
               scheduled - make_interval(mins => (r / 7) % 20) as checked_in,
               scheduled + make_interval(mins => (r / 11) % 20 - 5) as called,
               (r / 13) % 16 - 8 as eta_off, 3 + (r / 17) % 6 as consult
          from v
      ),
      a as (
        insert into appointments (queue_id, doctor_id, date, serial, position_key, estimated_at, tracking_token_hash,
                                  status, checked_in_at, called_at, completed_at, cancelled_at, no_show_at, booked_at)
        select queue_id, doctor_id, date, s, s, scheduled, md5(queue_id::text || ':' || s), status,
               case when status = 'completed' then least(checked_in, greatest(called, checked_in)) end,
               case when status = 'completed' then greatest(called, checked_in) end,
               case when status = 'completed' then greatest(called, checked_in) + make_interval(mins => consult) end,
               case when status = 'cancelled' then scheduled - interval '1 day' end,
               case when status = 'no_show' then scheduled + interval '5 hours' end,
               scheduled - interval '3 days'
          from t
        returning id, queue_id, serial, status, booked_at, checked_in_at, called_at, completed_at, cancelled_at
      )
      insert into queue_events (queue_id, version, type, appointment_id, serial, actor_id, data, at)
      select a.queue_id, a.serial * 5 + ev.k, ev.type, a.id, a.serial, null, ev.data, ev.at
        from a join t on t.queue_id = a.queue_id and t.s = a.serial
        cross join lateral (values
          (1, 'booked', null::jsonb, a.booked_at, true),
          (2, 'checked_in', jsonb_build_object(
             'etaAt', a.called_at + make_interval(mins => t.eta_off),
             'etaRange', jsonb_build_object('from', a.called_at + make_interval(mins => t.eta_off - 3),
                                            'to', a.called_at + make_interval(mins => t.eta_off + 4)),
             'position', 0), a.checked_in_at, a.status = 'completed'),
          (3, 'called', jsonb_build_object('outOfOrder', false), a.called_at, a.status = 'completed'),
          (4, 'completed', jsonb_build_object('consultSeconds', extract(epoch from a.completed_at - a.called_at)::int),
             a.completed_at, a.status = 'completed'),
          (4, 'cancelled', null::jsonb, a.cancelled_at, a.status = 'cancelled')
        ) ev(k, type, data, at, present)
       where ev.present
    `.execute(db);
    process.stderr.write(`\rseeding ${Math.min(i + chunk, days.length)}/${days.length} days`);
  }
  process.stderr.write('\n');
  await sql`vacuum analyze`.execute(db);
}

async function main() {
  await requireServices('reports', false);
  const run = new Run('reports', 3600);
  const scratch = await scratchDatabase();
  run.defer(() => scratch.drop());
  const config = loadConfig({
    DATABASE_URL: scratch.url,
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    NOTIFY_CRON: 'false',
    MAX_EVENT_LOOP_DELAY_MS: '0',
  });
  const app = await buildApp(config, { database: await openDatabase({ url: scratch.url }), logger: false });
  run.defer(() => app.close());
  try {
    console.log(`reports bench on ${machine()}`);
    const started = performance.now();
    await seed(app.db);
    const count = await sql<{ appointments: number; events: number }>`
      select (select count(*) from appointments)::int as appointments, (select count(*) from queue_events)::int as events`.execute(
      app.db,
    );
    console.log(
      `seeded ${count.rows[0].appointments.toLocaleString()} appointments, ${count.rows[0].events.toLocaleString()} queue events in ${((performance.now() - started) / 1000).toFixed(0)} s`,
    );

    const staff = await app.db
      .selectFrom('users')
      .select(['id', 'hospitalId'])
      .where('role', '=', 'staff')
      .orderBy('email')
      .executeTakeFirstOrThrow();
    const token = app.signAccessToken({ id: staff.id, role: 'staff' });
    const date = new Date(Date.now() - 40 * 86_400_000).toISOString().slice(0, 10);
    const url = `/v1/reports/appointments?period=month&date=${date}`;
    const once = async () => {
      const t0 = performance.now();
      const res = await app.inject({ url, headers: { authorization: `Bearer ${token}` } });
      if (res.statusCode !== 200) throw new Error(`report answered ${res.statusCode}: ${res.body}`);
      return { ms: performance.now() - t0, body: res.json() };
    };
    for (let i = 0; i < 3; i++) await once();
    const times: number[] = [];
    for (let i = 0; i < RUNS; i++) times.push((await once()).ms);
    const report: Report = (await once()).body;

    // The statements the report runs, captured, explained, and timed with and without index scans.
    const captured: { sql: string; parameters: readonly unknown[] }[] = [];
    const probe = new Kysely<Database>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: scratch.url, max: 1 }) }),
      plugins: [new CamelCasePlugin()],
      log: (event) => {
        if (event.level === 'query')
          captured.push({ sql: event.query.sql, parameters: event.query.parameters });
      },
    });
    run.defer(() => probe.destroy());
    const scope = {
      from: report.from,
      to: report.to,
      hospitalId: staff.hospitalId as string,
    };
    await reportStatement(probe, scope);
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    run.defer(() => client.end());
    const timeAll = async () => {
      const each: number[] = [];
      for (let i = 0; i < 5; i++) {
        const t0 = performance.now();
        for (const q of captured) await client.query(q.sql, q.parameters as unknown[]);
        each.push(performance.now() - t0);
      }
      return median(each);
    };
    for (const [i, q] of captured.entries()) {
      const plan = await client.query(`explain (analyze, buffers) ${q.sql}`, q.parameters as unknown[]);
      console.log(`\nEXPLAIN ANALYZE of the report's statement (${i + 1} of ${captured.length}):`);
      for (const row of plan.rows) console.log(`  ${row['QUERY PLAN']}`);
    }
    const indexed = await timeAll();
    await client.query(
      'set enable_indexscan = off; set enable_bitmapscan = off; set enable_indexonlyscan = off',
    );
    const baseline = await timeAll();

    const p99 = percentile(times, 99);
    const eta = report.totals.eta;
    console.log(
      `\nmonth report for one hospital (${report.from} to ${report.to}), ${RUNS} requests over HTTP:`,
    );
    console.log(
      `  p50 ${ms(median(times))}, p99 ${ms(p99)} — target p99 < ${TARGET_P99_MS} ms: ${p99 < TARGET_P99_MS ? 'met' : 'NOT met'}`,
    );
    console.log(
      `  its statement: ${ms(indexed)} with the indexes vs ${ms(baseline)} without (baseline) → ${(baseline / indexed).toFixed(1)}× faster`,
    );
    console.log(`  ETA accuracy of the bench data: ${JSON.stringify(eta)}`);
    console.log(`  machine after the run: ${machine()}`);
  } finally {
    await run.cleanup();
  }
}

await main();
