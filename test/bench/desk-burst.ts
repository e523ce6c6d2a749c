// Benchmark: a front desk adds 500 walk-ins at once to one queue (POST /v1/queues/:id/walk-ins as staff, all
// sent together) through one real server process on Postgres + Redis with its default pool and bounds.
// Target: 0 failures (a burst waits for the pool instead of failing). Prints the latency percentiles and,
// as the baseline measured in the same run, the same server adding walk-ins one at a time: the burst's
// walk-ins/s against that sequential rate, and its p99 against the whole burst run back to back.
// Run: npm run bench -- desk-burst   (bounded: BENCH_TIMEOUT_SECONDS, default 150)
import {
  backing,
  load,
  machine,
  median,
  ms,
  percentile,
  Run,
  requireServices,
  seedClinic,
  seeder,
  seedQueue,
  startInstances,
} from './kit.js';

const BURST = Number(process.env.BENCH_BURST ?? 500);
const SEQUENTIAL = 40;

await requireServices('desk-burst', true);
const run = new Run('desk-burst', Number(process.env.BENCH_TIMEOUT_SECONDS ?? 150));
let ok = false;
try {
  const { env } = await backing(run);
  const app = await seeder(run, env.DATABASE_URL);
  const clinic = await seedClinic(app, 2, 500);
  const warmQueue = await seedQueue(app, clinic, 0, 0);
  const burstQueue = await seedQueue(app, clinic, 1, 0);
  const [server] = await startInstances(run, 1, env);
  const walkIn = async (queueId: string, i: number) => {
    const started = performance.now();
    try {
      const res = await fetch(`${server.url}/v1/queues/${queueId}/walk-ins`, {
        method: 'POST',
        headers: { authorization: clinic.staff.auth, 'content-type': 'application/json' },
        body: JSON.stringify({ name: `Walk In ${i}` }),
      });
      const body = (await res.json()) as { serial?: number; code?: string; message?: string };
      return {
        status: res.status,
        code: body.code && `${body.code}: ${body.message}`,
        serial: body.serial,
        ms: performance.now() - started,
      };
    } catch (err) {
      return { status: 0, code: String(err), serial: undefined, ms: performance.now() - started };
    }
  };
  console.log(
    `desk-burst: ${BURST} walk-ins at once into one queue, 1 server; machine: ${machine()} at start`,
  );

  // Baseline: one at a time into another queue of the same server (also warms the path).
  const sequential: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const r = await walkIn(warmQueue.queueId, i);
    if (r.status !== 201) throw new Error(`sequential walk-in: ${r.status} ${r.code}`);
    if (i >= 5) sequential.push(r.ms);
  }
  const sequentialRate = 1000 / median(sequential);

  const started = performance.now();
  const results = await Promise.all(Array.from({ length: BURST }, (_, i) => walkIn(burstQueue.queueId, i)));
  const seconds = (performance.now() - started) / 1000;
  const failures = results.filter((r) => r.status !== 201);
  const codes = new Map<string, number>();
  for (const f of failures)
    codes.set(`${f.status} ${f.code ?? ''}`, (codes.get(`${f.status} ${f.code ?? ''}`) ?? 0) + 1);
  const latencies = results.map((r) => r.ms);
  const rows = await app.db
    .selectFrom('appointments')
    .select('serial')
    .where('queueId', '=', burstQueue.queueId)
    .orderBy('serial')
    .execute();
  const serialsExact = rows.length === BURST - failures.length && rows.every((r, i) => r.serial === i + 1);
  const burstRate = (BURST - failures.length) / seconds;

  console.log(
    `  baseline: one at a time, median ${ms(median(sequential))} per walk-in = ${sequentialRate.toFixed(0)} walk-ins/s`,
  );
  console.log(
    `  burst: ${BURST} sent at once → ${BURST - failures.length} created, ${failures.length} failed` +
      `${codes.size ? ` (${[...codes].map(([c, n]) => `${n}× ${c}`).join(', ')})` : ''}; serials 1..n in the database: ${serialsExact}`,
  );
  console.log(
    `  burst latency: p50 ${ms(percentile(latencies, 50))}, p90 ${ms(percentile(latencies, 90))}, ` +
      `p99 ${ms(percentile(latencies, 99))}, max ${ms(Math.max(...latencies))}; all done in ${seconds.toFixed(1)} s`,
  );
  console.log(
    `  RESULT failures: ${failures.length} (target 0) ${failures.length === 0 ? 'ok' : 'MISSED'}; ` +
      `burst ${burstRate.toFixed(0)} walk-ins/s = ${(burstRate / sequentialRate).toFixed(2)}× one at a time; ` +
      `p99 ${ms(percentile(latencies, 99))} vs ${ms((BURST * 1000) / sequentialRate)} for the whole burst one at a time`,
  );
  console.log(`  load average at end: ${load()}; whole run ${run.seconds().toFixed(0)} s`);
  ok = failures.length === 0 && serialsExact;
} finally {
  await run.cleanup();
}
process.exit(ok ? 0 : 1);
