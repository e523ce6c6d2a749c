// What the HTTP benchmarks share: a scratch Postgres database (cq_bench_<random>, created and dropped by the
// bench), a private Redis prefix, real server processes on 127.0.0.1, a watchdog that bounds the run, a seeder
// that writes a clinic straight to the database, and the numbers every bench prints (load, percentiles).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { DUMMY_HASH } from '../../src/lib/password.js';
import { hashToken, newOpaqueToken } from '../../src/lib/tokens.js';
import { hasPostgres, hasRedis, POSTGRES_URL, REDIS_URL } from '../helpers/services.js';

const ROOT = join(import.meta.dirname, '../..');
const JWT_SECRET = 'bench-secret-that-is-long-enough-for-hs256-signing';
const ENCRYPTION_KEY = 'b'.repeat(64);

function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Deletes every key under a bench's prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await client.del(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

export const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

export const machine = (): string => `${cpus().length} cores, load average ${load()}`;

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const median = (values: number[]): number => percentile(values, 50);

export const ms = (value: number): string => `${value.toFixed(1)} ms`;

/** Fails the bench unless Postgres (and Redis when asked) answer on 127.0.0.1. */
export async function requireServices(name: string, redis: boolean): Promise<void> {
  if (!(await hasPostgres())) {
    console.error(`${name}: needs Postgres at ${POSTGRES_URL}`);
    process.exit(2);
  }
  if (redis && !(await hasRedis())) {
    console.error(`${name}: needs Redis at ${REDIS_URL}`);
    process.exit(2);
  }
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** CPU time (user + system, ms) a process has used so far; 0 when it is gone (Linux /proc). */
export function processCpuMs(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat, in clock ticks (100 per second on Linux).
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/**
 * CPU used by the server processes and by the Postgres backends serving a database while `work` runs: what
 * a request costs the machine, whatever else shares it (the load average only says how crowded it was).
 */
export async function cpuDuring<T>(
  pids: number[],
  database: string,
  work: () => Promise<T>,
): Promise<{ result: T; serversMs: number; postgresMs: number }> {
  const backends = () =>
    admin(async (client) =>
      (
        await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database])
      ).rows.map((r) => r.pid),
    );
  const sum = (list: number[]) => list.reduce((total, pid) => total + processCpuMs(pid), 0);
  const before = new Map((await backends()).map((pid) => [pid, processCpuMs(pid)]));
  const serversBefore = sum(pids);
  const result = await work();
  const serversMs = sum(pids) - serversBefore;
  const postgresMs = (await backends()).reduce(
    (total, pid) => total + processCpuMs(pid) - (before.get(pid) ?? 0),
    0,
  );
  return { result, serversMs, postgresMs };
}

export interface Scratch {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** An empty database of the same server (migrated unless `migrate: false`), dropped by `drop`. */
export async function scratchDatabase(options: { migrate?: boolean } = {}): Promise<Scratch> {
  const name = `cq_bench_${randomBytes(5).toString('hex')}`;
  await admin((client) => client.query(`create database "${name}"`));
  const url = databaseUrl(name);
  if (options.migrate !== false) {
    const { db } = await openDatabase({ url, poolSize: 1 });
    await migrateToLatest(db);
    await db.destroy();
  }
  return {
    name,
    url,
    drop: () =>
      admin((client) => client.query(`drop database if exists "${name}" with (force)`)).then(() => {}),
  };
}

/** Runs the cleanups in reverse order when the bench ends, fails, or outlives its bound. */
export class Run {
  readonly #cleanups: (() => Promise<unknown> | unknown)[] = [];
  readonly started = performance.now();

  constructor(
    readonly name: string,
    boundSeconds: number,
  ) {
    const watchdog = setTimeout(() => {
      console.error(`${name}: gave up after ${boundSeconds} s`);
      void this.cleanup().finally(() => process.exit(1));
    }, boundSeconds * 1000);
    watchdog.unref();
  }

  defer(cleanup: () => Promise<unknown> | unknown): void {
    this.#cleanups.push(cleanup);
  }

  seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  async cleanup(): Promise<void> {
    while (this.#cleanups.length) {
      const cleanup = this.#cleanups.pop();
      try {
        await cleanup?.();
      } catch (err) {
        console.error(`${this.name}: cleanup failed: ${err}`);
      }
    }
  }
}

export const SERVER_ENV = {
  JWT_SECRET,
  ENCRYPTION_KEY,
  SEED_DEMO: 'false',
  LOG_LEVEL: 'warn',
  NOTIFY_SMS: 'log',
  NOTIFY_EMAIL: 'log',
  HOST: '127.0.0.1',
  PORT: '0',
};

/** e.g. BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' to profile the servers. */
const SERVER_NODE_ARGS = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean);

export interface Instance {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** One real server process (`src/server.ts`) on an OS-chosen port; resolves once it listens. */
export function startInstance(env: Record<string, string>): Promise<Instance> {
  const child = spawn(process.execPath, [...SERVER_NODE_ARGS, '--import', 'tsx', 'src/server.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...SERVER_ENV, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let listening = false;
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`server did not start in time\n${out}\n${err}`));
    }, 90_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString()).slice(-8000);
    });
    // Keep reading stdout after start (the log transports write there) so the pipe never fills.
    child.stdout?.on('data', (chunk: Buffer) => {
      if (listening) return;
      out = (out + chunk.toString()).slice(-8000);
      const match = /running at http:\/\/localhost:(\d+)/.exec(out);
      if (match) {
        listening = true;
        clearTimeout(timer);
        resolve({ url: `http://127.0.0.1:${match[1]}`, child, stop });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (!listening) reject(new Error(`server exited with ${code}\n${out}\n${err}`));
    });
  });
}

/** `count` instances on one database and Redis prefix; stopped by the run's cleanup. */
export async function startInstances(
  run: Run,
  count: number,
  env: Record<string, string>,
): Promise<Instance[]> {
  const instances = await Promise.all(Array.from({ length: count }, () => startInstance(env)));
  run.defer(() => Promise.all(instances.map((i) => i.stop())));
  return instances;
}

/** A scratch database, a private Redis prefix and the env the servers need for both, all cleaned by the run. */
export async function backing(
  run: Run,
): Promise<{ scratch: Scratch; prefix: string; env: Record<string, string> }> {
  const scratch = await scratchDatabase();
  run.defer(() => scratch.drop());
  const prefix = `cqbench:${randomBytes(4).toString('hex')}:`;
  run.defer(() => deleteRedisPrefix(prefix));
  return { scratch, prefix, env: { DATABASE_URL: scratch.url, REDIS_URL, REDIS_PREFIX: prefix } };
}

/** A local app on the scratch database for seeding and signing tokens; it serves no requests. */
export async function seeder(run: Run, databaseUrl: string): Promise<FastifyInstance> {
  const app = await buildApp(
    loadConfig({
      ...SERVER_ENV,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'silent',
      NOTIFY_CRON: 'false',
    }),
    { logger: false },
  );
  run.defer(() => app.close());
  return app;
}

export interface Staff {
  id: string;
  auth: string;
}

export interface Clinic {
  hospitalId: string;
  staff: Staff;
  /** sessionId: today's session; sessions: each ISO weekday's (1 = Monday). */
  doctors: { doctorId: string; sessionId: string; sessions: Record<number, string>; auth: string }[];
}

/**
 * A hospital in UTC with `doctors` verified doctors, each with a session every day of the week from 00:00 to
 * 23:59 (so today's queue is open whenever the bench runs) holding `capacity` places, and a staff account.
 */
export async function seedClinic(app: FastifyInstance, doctors: number, capacity: number): Promise<Clinic> {
  const tag = randomBytes(3).toString('hex');
  const hospital = await app.db
    .insertInto('hospitals')
    .values({ name: `Bench Hospital ${tag}`, city: 'Bench', timezone: 'UTC' })
    .returning('id')
    .executeTakeFirstOrThrow();
  const staffUser = await app.db
    .insertInto('users')
    .values({
      email: `bench-staff-${tag}@example.test`,
      passwordHash: DUMMY_HASH,
      role: 'staff',
      name: 'Bench Desk',
      hospitalId: hospital.id,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const list: Clinic['doctors'] = [];
  for (let i = 0; i < doctors; i++) {
    const user = await app.db
      .insertInto('users')
      .values({
        email: `bench-doc-${tag}-${i}@example.test`,
        passwordHash: DUMMY_HASH,
        role: 'doctor',
        name: `Dr. Bench ${i}`,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const doctor = await app.db
      .insertInto('doctors')
      .values({ userId: user.id, name: `Dr. Bench ${i}`, verifiedAt: new Date() })
      .returning('id')
      .executeTakeFirstOrThrow();
    const sessions: Record<number, string> = {};
    for (let weekday = 1; weekday <= 7; weekday++) {
      const session = await app.db
        .insertInto('sessions')
        .values({
          doctorId: doctor.id,
          hospitalId: hospital.id,
          weekday,
          startTime: '00:00',
          endTime: '23:59',
          slotMinutes: 1,
          capacity,
          fee: 500,
          room: '12',
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      sessions[weekday] = session.id;
    }
    if (await sessionsNeedConfirming(app))
      await sql`update sessions set confirmed_at = now() where doctor_id = ${doctor.id}`.execute(app.db);
    list.push({
      doctorId: doctor.id,
      sessionId: sessions[isoWeekday(new Date())],
      sessions,
      auth: `Bearer ${app.signAccessToken({ id: user.id, role: 'doctor' })}`,
    });
  }
  return {
    hospitalId: hospital.id,
    staff: { id: staffUser.id, auth: `Bearer ${app.signAccessToken({ id: staffUser.id, role: 'staff' })}` },
    doctors: list,
  };
}

export const todayUtc = (): string => new Date().toISOString().slice(0, 10);

/** ISO weekday (1 = Monday) of an instant's UTC date. */
export function isoWeekday(at: Date): number {
  const day = at.getUTCDay();
  return day === 0 ? 7 : day;
}

/** Sessions entered straight into the database are pending where the schema has a confirmation step. */
async function sessionsNeedConfirming(app: FastifyInstance): Promise<boolean> {
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from information_schema.columns
    where table_name = 'sessions' and column_name = 'confirmed_at'`.execute(app.db);
  return rows[0].n > 0;
}

/** `count` patients (account + own profile) in a few statements; returns their ids and bearer headers. */
export async function seedPatients(
  app: FastifyInstance,
  count: number,
): Promise<{ userId: string; profileId: string; auth: string }[]> {
  const tag = randomBytes(3).toString('hex');
  // CamelCasePlugin renames the result columns: user_id → userId.
  const { rows } = await sql<{ userId: string; profileId: string }>`
    with u as (
      insert into users (email, password_hash, role, name)
      select 'bench-' || ${tag} || '-' || g || '@example.test', ${DUMMY_HASH}, 'patient', 'Bench Patient ' || g
      from generate_series(1, ${count}::int) g
      returning id
    ), p as (
      insert into patient_profiles (account_id, is_self, name)
      select id, true, 'Bench Patient' from u
      returning id, account_id
    )
    select account_id as user_id, id as profile_id from p`.execute(app.db);
  return rows.map((r) => ({
    userId: r.userId,
    profileId: r.profileId,
    auth: `Bearer ${app.signAccessToken({ id: r.userId, role: 'patient' })}`,
  }));
}

export interface SeededQueue {
  queueId: string;
  appointments: { id: string; serial: number; trackingToken: string }[];
}

/**
 * Today's queue of one doctor's session with `waiting` booked patients (serials 1..waiting), written straight
 * to the database as the live-queue tests do; the servers build the projection on first use.
 */
export async function seedQueue(
  app: FastifyInstance,
  clinic: Clinic,
  doctorIndex: number,
  waiting: number,
): Promise<SeededQueue> {
  const doctor = clinic.doctors[doctorIndex];
  const date = todayUtc();
  const startsAt = new Date(`${date}T00:00:00Z`);
  const queue = await app.db
    .insertInto('sessionDays')
    .values({
      sessionId: doctor.sessionId,
      doctorId: doctor.doctorId,
      hospitalId: clinic.hospitalId,
      date,
      startsAt,
      endsAt: new Date(`${date}T23:59:00Z`),
      capacity: Math.max(waiting, 1) + 100_000,
      slotMinutes: 1,
      nextSerial: waiting + 1,
      bookedCount: waiting,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const patients = waiting > 0 ? await seedPatients(app, waiting) : [];
  const trackingTokens = Array.from({ length: waiting }, () => newOpaqueToken());
  const appointments: SeededQueue['appointments'] = [];
  for (let start = 0; start < waiting; start += 1000) {
    const rows = await app.db
      .insertInto('appointments')
      .values(
        patients.slice(start, start + 1000).map((p, i) => {
          const serial = start + i + 1;
          return {
            queueId: queue.id,
            doctorId: doctor.doctorId,
            date,
            profileId: p.profileId,
            bookedBy: p.userId,
            serial,
            positionKey: serial,
            estimatedAt: startsAt,
            trackingTokenHash: hashToken(trackingTokens[serial - 1]),
          };
        }),
      )
      .returning(['id', 'serial'])
      .execute();
    for (const r of rows)
      appointments.push({ id: r.id, serial: r.serial, trackingToken: trackingTokens[r.serial - 1] });
  }
  return { queueId: queue.id, appointments };
}

/** The bare Fastify process (bare-server.ts); stopped by the run's cleanup. */
export function startBare(run: Run): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'bare-server.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  run.defer(
    () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve(null);
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /bare listening on (\d+)/.exec(out);
      if (match) resolve(`http://127.0.0.1:${match[1]}`);
    });
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
}
