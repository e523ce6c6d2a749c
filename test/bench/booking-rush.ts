// Benchmark: the morning rush. Bookings open and 1,000 patients book at once, 50 in flight, over HTTP through
// two real server processes (Postgres + Redis, scratch database, own key prefix) into 4 doctors' sessions of
// 250 places each. Checks exactly 1,000 booked, serials 1..250 per doctor with no gap or duplicate (in the
// answers and in the database), 0 errors. Baseline in the same run on the same database server: pgbench with a
// custom script (one UPDATE … SET abalance = abalance + 1 WHERE aid = :aid, :aid random over 4 hot rows, as the
// 4 queues' rows are), the same 50 clients, on a scratch database created with pgbench -i and dropped after.
// Prints bookings/s, the latency percentiles, the ratio to pgbench's tps (target ≥ 25%) and the load average.
// Run: npm run bench -- booking-rush   (bounded: BENCH_TIMEOUT_SECONDS, default 300; pgbench BENCH_SECONDS, 10)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  backing,
  cpuDuring,
  isoWeekday,
  load,
  machine,
  ms,
  percentile,
  Run,
  requireServices,
  scratchDatabase,
  seedClinic,
  seeder,
  seedPatients,
  startInstances,
} from './kit.js';

const DOCTORS = 4;
const PLACES = 250;
const PATIENTS = DOCTORS * PLACES;
const IN_FLIGHT = 50;
const PGBENCH_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const TARGET = 0.25;

function pgbenchPath(): string {
  const onPath = spawnSync('pgbench', ['--version'], { encoding: 'utf8' });
  if (onPath.status === 0) return 'pgbench';
  const root = '/usr/lib/postgresql';
  for (const version of existsSync(root) ? readdirSync(root).sort().reverse() : []) {
    const candidate = join(root, version, 'bin', 'pgbench');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('pgbench not found on PATH nor in /usr/lib/postgresql/*/bin');
}

/** pgbench's tps for one UPDATE over 4 hot rows, IN_FLIGHT clients, on a scratch database of the same server. */
async function pgbenchHotRows(run: Run): Promise<number> {
  const pgbench = pgbenchPath();
  const scratch = await scratchDatabase({ migrate: false });
  run.defer(() => scratch.drop());
  const dir = mkdtempSync(join(tmpdir(), 'cq-pgbench-'));
  run.defer(() => rmSync(dir, { recursive: true, force: true }));
  const init = spawnSync(pgbench, ['-i', '-q', '-s', '1', scratch.url], { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`pgbench -i failed: ${init.stderr}`);
  const script = join(dir, 'hot-rows.sql');
  writeFileSync(
    script,
    '\\set aid random(1, 4)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n',
  );
  const args = ['-n', '-c', String(IN_FLIGHT), '-j', '2', '-T', String(PGBENCH_SECONDS), '-f', script];
  const result = spawnSync(pgbench, [...args, scratch.url], { encoding: 'utf8' });
  const match = /tps = ([\d.]+)/.exec(result.stdout);
  if (!match) throw new Error(`pgbench failed: ${result.stderr || result.stdout}`);
  return Number(match[1]);
}

await requireServices('booking-rush', true);
const run = new Run('booking-rush', Number(process.env.BENCH_TIMEOUT_SECONDS ?? 300));
let ok = false;
try {
  const { env, scratch } = await backing(run);
  const app = await seeder(run, env.DATABASE_URL);
  const clinic = await seedClinic(app, DOCTORS, PLACES);
  const patients = await seedPatients(app, PATIENTS);
  // Tomorrow: open for booking whatever the time of day.
  const tomorrow = new Date(Date.now() + 86_400_000);
  const date = tomorrow.toISOString().slice(0, 10);
  const sessionOf = (doctor: number) => clinic.doctors[doctor].sessions[isoWeekday(tomorrow)];
  const servers = await startInstances(run, 2, env);
  console.log(
    `booking-rush: ${PATIENTS} patients into ${DOCTORS} × ${PLACES} places, ${IN_FLIGHT} in flight, 2 servers; machine: ${machine()} at start`,
  );

  const results: { doctor: number; status: number; code?: string; serial?: number; ms: number }[] = [];
  let next = 0;
  const started = performance.now();
  const cpu = await cpuDuring(
    servers.map((s) => s.child.pid ?? 0),
    scratch.name,
    () =>
      Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < PATIENTS) {
            const i = next++;
            const doctor = i % DOCTORS;
            const sent = performance.now();
            try {
              const res = await fetch(`${servers[i % 2].url}/v1/appointments`, {
                method: 'POST',
                headers: { authorization: patients[i].auth, 'content-type': 'application/json' },
                body: JSON.stringify({ sessionId: sessionOf(doctor), date }),
              });
              const body = (await res.json()) as { serial?: number; code?: string; message?: string };
              results.push({
                doctor,
                status: res.status,
                code: body.code && `${body.code}: ${body.message}`,
                serial: body.serial,
                ms: performance.now() - sent,
              });
            } catch (err) {
              results.push({ doctor, status: 0, code: String(err), ms: performance.now() - sent });
            }
          }
        }),
      ),
  );
  const seconds = (performance.now() - started) / 1000;
  const booked = results.filter((r) => r.status === 201);
  const errors = results.filter((r) => r.status !== 201);
  const codes = new Map<string, number>();
  for (const e of errors)
    codes.set(`${e.status} ${e.code ?? ''}`, (codes.get(`${e.status} ${e.code ?? ''}`) ?? 0) + 1);
  const expected = Array.from({ length: PLACES }, (_, i) => i + 1).join(',');
  const answersExact = clinic.doctors.every(
    (_, d) =>
      booked
        .filter((r) => r.doctor === d)
        .map((r) => r.serial as number)
        .sort((a, b) => a - b)
        .join(',') === expected,
  );
  let databaseExact = true;
  for (let d = 0; d < DOCTORS; d++) {
    const rows = await app.db
      .selectFrom('appointments')
      .innerJoin('sessionDays', 'sessionDays.id', 'appointments.queueId')
      .select('appointments.serial')
      .where('sessionDays.sessionId', '=', sessionOf(d))
      .where('sessionDays.date', '=', date)
      .orderBy('appointments.serial')
      .execute();
    databaseExact &&= rows.map((r) => r.serial).join(',') === expected;
  }
  const bookingsPerSecond = booked.length / seconds;
  const latencies = results.map((r) => r.ms);
  console.log(
    `  ${booked.length} booked, ${errors.length} errors${codes.size ? ` (${[...codes].map(([c, n]) => `${n}× ${c}`).join(', ')})` : ''}; ` +
      `serials 1..${PLACES} per doctor, no gap or duplicate: answers ${answersExact}, database ${databaseExact}`,
  );
  console.log(
    `  ${seconds.toFixed(1)} s = ${bookingsPerSecond.toFixed(0)} bookings/s; latency p50 ${ms(percentile(latencies, 50))}, ` +
      `p90 ${ms(percentile(latencies, 90))}, p99 ${ms(percentile(latencies, 99))}`,
  );
  console.log(
    `  CPU per booking: servers ${(cpu.serversMs / PATIENTS).toFixed(2)} ms, Postgres backends ${(cpu.postgresMs / PATIENTS).toFixed(2)} ms` +
      ` (what the machine's ${cpus().length} cores pay per booking, however crowded they are)`,
  );
  const loadBefore = load();
  const tps = await pgbenchHotRows(run);
  console.log(
    `  baseline: pgbench, one UPDATE over 4 hot rows, ${IN_FLIGHT} clients, ${PGBENCH_SECONDS} s: ${tps.toFixed(0)} tps (load average ${loadBefore} before it)`,
  );
  const ratio = bookingsPerSecond / tps;
  const met = ratio >= TARGET;
  console.log(
    `  RESULT bookings/s ÷ pgbench tps: ${(ratio * 100).toFixed(1)}% (target ≥ ${TARGET * 100}%) ${met ? 'ok' : 'MISSED'}`,
  );
  console.log(`  load average at end: ${load()}; whole run ${run.seconds().toFixed(0)} s`);
  ok = booked.length === PATIENTS && errors.length === 0 && answersExact && databaseExact;
} finally {
  await run.cleanup();
}
process.exit(ok ? 0 : 1);
