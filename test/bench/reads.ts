// Benchmark: the public reads a waiting room hammers — GET /v1/queues/:id as a guest (the lobby TV, every
// phone that opens the queue) and GET /v1/track/:token (each patient's phone) — against a bare Fastify
// hello-world route in its own process, 20 connections each, all in the same run on the same machine.
// The server is one real process on Postgres + Redis (scratch database, own key prefix). Target: each
// ≥ 50% of the bare route's req/s. /track is limited per address, so each request comes "from" one of
// many addresses (X-Forwarded-For with TRUST_PROXY) and the limiter's bookkeeping stays on the path.
// Run: npm run bench -- reads   (bounded: about 45 s of load, BENCH_SECONDS per route default 12, BENCH_TIMEOUT_SECONDS 150)
import { readdirSync, readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import {
  backing,
  load,
  machine,
  Run,
  requireServices,
  seedClinic,
  seeder,
  seedQueue,
  startBare,
  startInstances,
} from './kit.js';

const CONNECTIONS = 20;
const SECONDS = Number(process.env.BENCH_SECONDS ?? 12);
const WAITING = 40;
const TARGET = 0.5;
/** Each route's seconds are split into this many slices, taken in turn. */
const SLICES = 4;

interface Measured {
  label: string;
  rps: number;
  answers: number;
  /** CPU seconds the answering process used meanwhile; null where /proc cannot tell. */
  cpu: number | null;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

/**
 * The addresses /track requests come "from": enough that no address nears the route's 600 a minute, each
 * request prebuilt once (autocannon rebuilds a request with `setupRequest` every time, which costs the
 * client — on the same two cores as the server — more than the server's answer).
 */
/** Linux's clock ticks per second in /proc/<pid>/stat. */
const TICKS = 100;

/** CPU seconds (user + system) process `pid` has used so far, from /proc; null elsewhere. */
function cpuSeconds(pid: number | undefined): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return null;
  }
}

/** This process's child whose command line mentions `name` (the bare server, which kit.ts starts). */
function childPid(name: string): number | undefined {
  try {
    for (const task of readdirSync('/proc/self/task'))
      for (const pid of readFileSync(`/proc/self/task/${task}/children`, 'utf8').split(' ').filter(Boolean))
        if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(name)) return Number(pid);
  } catch {
    // Not Linux: the CPU figures are left out.
  }
  return undefined;
}

const ADDRESSES = Array.from(
  { length: 2_000 },
  (_, n) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
);

async function measure(
  label: string,
  url: string,
  seconds: number,
  spreadAddresses = false,
  pid?: number,
): Promise<Measured> {
  const cpuBefore = cpuSeconds(pid);
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    ...(spreadAddresses
      ? { requests: ADDRESSES.map((address) => ({ headers: { 'x-forwarded-for': address } })) }
      : {}),
  });
  const ok = result['2xx'];
  const cpuAfter = cpuSeconds(pid);
  return {
    label,
    rps: ok / (result.duration || seconds),
    answers: ok,
    cpu: cpuBefore === null || cpuAfter === null ? null : cpuAfter - cpuBefore,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** Slices of one route as one measurement: total answers over total time, the worst slice's latencies. */
function combine(label: string, list: Measured[]): Measured {
  const cpus = list.map((m) => m.cpu);
  return {
    label,
    rps: list.reduce((sum, m) => sum + m.rps, 0) / list.length,
    answers: list.reduce((sum, m) => sum + m.answers, 0),
    cpu: cpus.includes(null) ? null : cpus.reduce((sum: number, c) => sum + (c ?? 0), 0),
    p50: Math.max(...list.map((m) => m.p50)),
    p99: Math.max(...list.map((m) => m.p99)),
    non2xx: list.reduce((sum, m) => sum + m.non2xx, 0),
    errors: list.reduce((sum, m) => sum + m.errors, 0),
  };
}

/** Server CPU per answer in µs: unlike req/s, hardly moved by other work on a shared machine. */
const cpuPerAnswer = (m: Measured) => (m.cpu === null || !m.answers ? null : (m.cpu / m.answers) * 1e6);

const line = (m: Measured) =>
  `  ${m.label.padEnd(38)} ${m.rps.toFixed(0).padStart(7)} req/s   p50 ${m.p50} ms   p99 ${m.p99} ms` +
  `${cpuPerAnswer(m) === null ? '' : `   ${cpuPerAnswer(m)?.toFixed(0)} µs CPU/answer`}` +
  `${m.non2xx || m.errors ? `   (${m.non2xx} non-2xx, ${m.errors} errors)` : ''}`;

await requireServices('reads', true);
const run = new Run('reads', Number(process.env.BENCH_TIMEOUT_SECONDS ?? 150));
let ok = false;
try {
  const { env } = await backing(run);
  const app = await seeder(run, env.DATABASE_URL);
  const clinic = await seedClinic(app, 1, 500);
  const queue = await seedQueue(app, clinic, 0, WAITING);
  const token = queue.appointments[WAITING / 2].trackingToken;
  const [server] = await startInstances(run, 1, { ...env, TRUST_PROXY: 'true' });
  const bare = await startBare(run);
  const snapshotUrl = `${server.url}/v1/queues/${queue.queueId}`;
  const trackUrl = `${server.url}/v1/track/${token}`;
  for (const url of [snapshotUrl, trackUrl]) {
    const res = await fetch(url, { headers: { 'x-forwarded-for': '10.255.255.1' } });
    if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  }
  console.log(`reads: ${CONNECTIONS} connections, ${SECONDS} s per route; machine: ${machine()} at start`);
  // Warm every route (JIT, caches), then measure in interleaved slices (bare, snapshot, track, again and
  // again) so that load coming and going on a shared machine weighs on the baseline as on the routes.
  await measure('warm', `${bare}/hello`, 1);
  await measure('warm', snapshotUrl, 2);
  await measure('warm', trackUrl, 2, true);
  const barePid = childPid('bare-server.ts');
  const serverPid = server.child.pid;
  const targets = [
    { label: 'bare Fastify GET /hello', url: `${bare}/hello`, spread: false, pid: barePid },
    {
      label: `guest GET /v1/queues/:id (${WAITING} waiting)`,
      url: snapshotUrl,
      spread: false,
      pid: serverPid,
    },
    { label: 'GET /v1/track/:token', url: trackUrl, spread: true, pid: serverPid },
  ];
  const slices: Measured[][] = targets.map(() => []);
  for (let round = 0; round < SLICES; round++) {
    for (const [i, target] of targets.entries())
      slices[i].push(await measure(target.label, target.url, SECONDS / SLICES, target.spread, target.pid));
  }
  const [bareAll, snapshot, track] = slices.map((list, i) => combine(targets[i].label, list));
  const baseline = bareAll.rps;
  for (const m of [bareAll, snapshot, track]) console.log(line(m));
  ok = true;
  for (const m of [snapshot, track]) {
    const ratio = m.rps / baseline;
    const met = ratio >= TARGET && m.non2xx === 0 && m.errors === 0;
    ok &&= met;
    const bareCpu = cpuPerAnswer(bareAll);
    const cpu = cpuPerAnswer(m);
    const cpuRatio =
      bareCpu !== null && cpu !== null ? `; by CPU per answer ${((bareCpu / cpu) * 100).toFixed(0)}%` : '';
    console.log(
      `  RESULT ${m.label}: ${(ratio * 100).toFixed(0)}% of bare req/s (target ≥ ${TARGET * 100}%) ${met ? 'ok' : 'MISSED'}${cpuRatio}`,
    );
  }
  console.log(`  load average at end: ${load()}; whole run ${run.seconds().toFixed(0)} s`);
} finally {
  await run.cleanup();
}
process.exit(ok ? 0 : 1);
