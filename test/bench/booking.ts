// Benchmark: booking on real Postgres through two server processes sharing one fresh database.
//  1. Contention: 1,000 concurrent bookings (distinct patients, split over both servers) into one session of
//     capacity 100 → exactly 100 succeed, serials 1..100, duplicates 0 (printed, and checked in the database).
//  2. Throughput: bookings/s into sessions with room, at bounded concurrency.
//  3. Baseline in the same run: pgbench single-row UPDATE tps (a hot row, as one queue's lock is, and random
//     rows) on a scratch database of the same server. Prints the ratios.
// Run: npx tsx test/bench/booking.ts   (bounded: BENCH_TIMEOUT_SECONDS, default 300; usually 1–2 minutes)
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { DUMMY_HASH } from '../../src/lib/password.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase, databaseUrl } from '../helpers/database.js';
import { hasPostgres, POSTGRES_URL } from '../helpers/services.js';

const CONTENDERS = 1_000;
const CAPACITY = 100;
const THROUGHPUT_BOOKINGS = Number(process.env.BENCH_BOOKINGS ?? 2_000);
const THROUGHPUT_SESSIONS = 20;
const THROUGHPUT_CONCURRENCY = 32;
const PGBENCH_SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the two servers. */
const serverNodeArgs = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

if (!(await hasPostgres())) {
  console.error('booking bench needs Postgres at 127.0.0.1:5432');
  process.exit(2);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

async function waitHealthy(base: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${base}/health`)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${base} did not become healthy`);
}

const servers: ChildProcess[] = [];
const TIMEOUT_SECONDS = Number(process.env.BENCH_TIMEOUT_SECONDS ?? 300);
const loadAtStart = loadavg();
const startedAt = performance.now();
// Hard bound: a wedged run kills its servers and fails instead of hanging.
const watchdog = setTimeout(() => {
  console.error(`booking bench: gave up after ${TIMEOUT_SECONDS} s`);
  for (const child of servers) child.kill('SIGKILL');
  process.exit(1);
}, TIMEOUT_SECONDS * 1000);
watchdog.unref();

const database = await createPostgresDatabase();
const env = {
  DATABASE_URL: database.url,
  JWT_SECRET: TEST_JWT_SECRET,
  ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
  LOG_LEVEL: 'silent',
  SEED_DEMO: 'false',
};
// A local instance for seeding and signing tokens only; it serves no requests.
const seeder = await buildApp(loadConfig(env), { logger: false });
const scratch = `cq_pgbench_${Date.now().toString(36)}`;
const workDir = mkdtempSync(join(tmpdir(), 'cq-bench-'));

async function insertPatients(n: number, tag: string) {
  const out: { auth: string }[] = [];
  for (let start = 0; start < n; start += 500) {
    const users = await seeder.db
      .insertInto('users')
      .values(
        Array.from({ length: Math.min(500, n - start) }, (_, i) => ({
          email: `bench-${tag}-${start + i}@example.test`,
          passwordHash: DUMMY_HASH,
          role: 'patient' as const,
          name: `Bench ${start + i}`,
        })),
      )
      .returning('id')
      .execute();
    await seeder.db
      .insertInto('patientProfiles')
      .values(users.map((u) => ({ accountId: u.id, isSelf: true, name: 'Bench' })))
      .execute();
    for (const u of users)
      out.push({ auth: `Bearer ${seeder.signAccessToken({ id: u.id, role: 'patient' })}` });
  }
  return out;
}

try {
  // World: one hospital (UTC), doctors with a session on tomorrow's weekday.
  const date = DateTime.utc().plus({ days: 1 }).toISODate() as string;
  const weekday = DateTime.fromISO(date, { zone: 'UTC' }).weekday;
  const hospital = await seeder.db
    .insertInto('hospitals')
    .values({ name: 'Bench Hospital', city: 'Bench', timezone: 'UTC' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const makeDoctorSession = async (i: number, capacity: number) => {
    const user = await seeder.db
      .insertInto('users')
      .values({
        email: `bench-doc-${i}@example.test`,
        passwordHash: DUMMY_HASH,
        role: 'doctor',
        name: `Dr. Bench ${i}`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const doctor = await seeder.db
      .insertInto('doctors')
      .values({ userId: user.id, name: `Dr. Bench ${i}`, verifiedAt: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const session = await seeder.db
      .insertInto('sessions')
      .values({
        doctorId: doctor.id,
        hospitalId: hospital.id,
        weekday,
        startTime: '08:00',
        endTime: '20:00',
        slotMinutes: 1,
        capacity,
        fee: 500,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return session.id;
  };
  const contendedSession = await makeDoctorSession(0, CAPACITY);
  const roomySessions: string[] = [];
  for (let i = 1; i <= THROUGHPUT_SESSIONS; i++) roomySessions.push(await makeDoctorSession(i, 10_000));
  const contenders = await insertPatients(CONTENDERS, 'c');
  const bookers = await insertPatients(THROUGHPUT_BOOKINGS, 't');

  // Two server processes on the same database.
  const bases: string[] = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const child = spawn(process.execPath, [...serverNodeArgs, '--import', 'tsx', 'src/server.ts'], {
      env: {
        ...process.env,
        ...env,
        PORT: String(port),
        HOST: '127.0.0.1',
        REDIS_URL: '',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    servers.push(child);
    bases.push(`http://127.0.0.1:${port}`);
  }
  await Promise.all(bases.map((b, i) => waitHealthy(b, servers[i])));

  const book = async (base: string, auth: string, sessionId: string) => {
    const res = await fetch(`${base}/v1/appointments`, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId, date }),
    });
    const body = (await res.json()) as { serial?: number; code?: string };
    return { status: res.status, serial: body.serial, code: body.code };
  };

  // 1. Contention.
  const t0 = performance.now();
  const results = await Promise.all(contenders.map((p, i) => book(bases[i % 2], p.auth, contendedSession)));
  const contentionMs = performance.now() - t0;
  const ok = results.filter((r) => r.status === 201);
  const full = results.filter((r) => r.code === 'SESSION_FULL').length;
  const other = results.filter((r) => r.status !== 201 && r.code !== 'SESSION_FULL');
  const serials = ok.map((r) => r.serial as number).sort((a, b) => a - b);
  const duplicates = serials.length - new Set(serials).size;
  const { rows: dbRows } = await seeder.db
    .selectFrom('appointments')
    .innerJoin('sessionDays', 'sessionDays.id', 'appointments.queueId')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.count<number>('appointments.serial').distinct().as('distinct'),
    ])
    .where('sessionDays.sessionId', '=', contendedSession)
    .execute()
    .then((rows) => ({ rows }));
  const exact = serials.length === CAPACITY && serials.every((s, i) => s === i + 1);

  // 2. Throughput into sessions with room.
  let next = 0;
  let booked = 0;
  let failed = 0;
  const t1 = performance.now();
  await Promise.all(
    Array.from({ length: THROUGHPUT_CONCURRENCY }, async (_, worker) => {
      while (next < bookers.length) {
        const i = next++;
        const r = await book(
          bases[(i + worker) % 2],
          bookers[i].auth,
          roomySessions[i % roomySessions.length],
        );
        if (r.status === 201) booked++;
        else failed++;
      }
    }),
  );
  const throughputSeconds = (performance.now() - t1) / 1000;
  const bookingsPerSecond = booked / throughputSeconds;

  // 3. pgbench baseline on a scratch database of the same server.
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database "${scratch}"`);
  await admin.end();
  const scratchUrl = databaseUrl(scratch);
  const init = spawnSync('pgbench', ['-i', '-q', '-s', '1', scratchUrl], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
  const hot = join(workDir, 'hot.sql');
  const random = join(workDir, 'random.sql');
  writeFileSync(hot, 'update pgbench_branches set bbalance = bbalance + 1 where bid = 1;\n');
  writeFileSync(
    random,
    '\\set aid random(1, 100000)\nupdate pgbench_accounts set abalance = abalance + 1 where aid = :aid;\n',
  );
  const tps = (script: string) => {
    const run = spawnSync(
      'pgbench',
      [
        '-n',
        '-c',
        String(THROUGHPUT_CONCURRENCY),
        '-j',
        '2',
        '-T',
        String(PGBENCH_SECONDS),
        '-f',
        script,
        scratchUrl,
      ],
      { encoding: 'utf8' },
    );
    const match = /tps = ([\d.]+)/.exec(run.stdout);
    if (!match) throw new Error(`pgbench failed: ${run.stderr || run.stdout}`);
    return Number(match[1]);
  };
  const hotTps = tps(hot);
  const randomTps = tps(random);

  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' ');
  const otherCodes = [...new Set(other.map((r) => `${r.status} ${r.code ?? ''}`.trim()))].slice(0, 5);
  console.log('booking bench (2 server processes, one Postgres database)');
  console.log(
    `  machine: ${cpus().length} cores, load average ${load(loadAtStart)} at start, ${load(loadavg())} at end`,
  );
  console.log(
    `  contention: ${CONTENDERS} concurrent into capacity ${CAPACITY} → ${ok.length} booked, ${full} SESSION_FULL, ` +
      `${other.length} other${otherCodes.length ? ` (${otherCodes.join(', ')})` : ''}; serials 1..${CAPACITY} exact: ${exact}; ` +
      `duplicates ${duplicates}; in db ${dbRows[0].n} rows, ${dbRows[0].distinct} distinct serials; ` +
      `${contentionMs.toFixed(0)} ms = ${((CONTENDERS / contentionMs) * 1000).toFixed(0)} requests/s`,
  );
  console.log(
    `  throughput: ${booked} bookings into ${THROUGHPUT_SESSIONS} sessions with room, concurrency ${THROUGHPUT_CONCURRENCY}, ` +
      `${throughputSeconds.toFixed(1)} s (${failed} failed)`,
  );
  console.log(
    `  baseline: pgbench single-row UPDATE, ${THROUGHPUT_CONCURRENCY} clients, ${PGBENCH_SECONDS} s each: ` +
      `hot row ${hotTps.toFixed(0)} tps, random rows ${randomTps.toFixed(0)} tps`,
  );
  console.log(`  RESULT bookings/s: ${bookingsPerSecond.toFixed(1)}`);
  console.log(
    `  RESULT ratio bookings/s ÷ pgbench tps: ${(bookingsPerSecond / hotTps).toFixed(3)} (hot row), ` +
      `${(bookingsPerSecond / randomTps).toFixed(3)} (random rows)`,
  );
  console.log(`  (whole run ${((performance.now() - startedAt) / 1000).toFixed(0)} s)`);
  if (!exact || duplicates !== 0 || other.length > 0) process.exitCode = 1;
} finally {
  for (const child of servers) child.kill('SIGTERM');
  await Promise.all(
    servers.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.once('exit', r)))),
  );
  await seeder.close();
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`drop database if exists "${scratch}" with (force)`);
  await admin.end();
  await database.drop();
  rmSync(workDir, { recursive: true, force: true });
}
