// Benchmark: the public reads a waiting room hammers — GET /v1/queues/:id as a guest (the lobby TV, every
// phone that opens the queue) and GET /v1/track/:token (each patient's phone) — against a bare Fastify
// hello-world route in its own process, 20 connections each, all in the same run on the same machine.
// The server is one real process on Postgres + Redis (scratch database, own key prefix). Target: each
// ≥ 50% of the bare route's req/s. /track is limited per address, so each request comes "from" one of
// many addresses (X-Forwarded-For with TRUST_PROXY) and the limiter's bookkeeping stays on the path.
// Run: npm run bench -- reads   (bounded: about 45 s of load, BENCH_SECONDS per route default 12, BENCH_TIMEOUT_SECONDS 150)
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
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

async function measure(
  label: string,
  url: string,
  seconds: number,
  spreadAddresses = false,
): Promise<Measured> {
  let n = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    ...(spreadAddresses
      ? {
          requests: [
            {
              setupRequest: (request) => {
                n = (n + 1) % 50_000;
                return {
                  ...request,
                  headers: {
                    ...request.headers,
                    'x-forwarded-for': `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`,
                  },
                };
              },
            },
          ],
        }
      : {}),
  });
  const ok = result['2xx'];
  return {
    label,
    rps: ok / (result.duration || seconds),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** Slices of one route as one measurement: total answers over total time, the worst slice's latencies. */
function combine(label: string, list: Measured[]): Measured {
  return {
    label,
    rps: list.reduce((sum, m) => sum + m.rps, 0) / list.length,
    p50: Math.max(...list.map((m) => m.p50)),
    p99: Math.max(...list.map((m) => m.p99)),
    non2xx: list.reduce((sum, m) => sum + m.non2xx, 0),
    errors: list.reduce((sum, m) => sum + m.errors, 0),
  };
}

const line = (m: Measured) =>
  `  ${m.label.padEnd(38)} ${m.rps.toFixed(0).padStart(7)} req/s   p50 ${m.p50} ms   p99 ${m.p99} ms` +
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
  const targets = [
    { label: 'bare Fastify GET /hello', url: `${bare}/hello`, spread: false },
    { label: `guest GET /v1/queues/:id (${WAITING} waiting)`, url: snapshotUrl, spread: false },
    { label: 'GET /v1/track/:token', url: trackUrl, spread: true },
  ];
  const slices: Measured[][] = targets.map(() => []);
  for (let round = 0; round < SLICES; round++) {
    for (const [i, target] of targets.entries())
      slices[i].push(await measure(target.label, target.url, SECONDS / SLICES, target.spread));
  }
  const [bareAll, snapshot, track] = slices.map((list, i) => combine(targets[i].label, list));
  const baseline = bareAll.rps;
  for (const m of [bareAll, snapshot, track]) console.log(line(m));
  ok = true;
  for (const m of [snapshot, track]) {
    const ratio = m.rps / baseline;
    const met = ratio >= TARGET && m.non2xx === 0 && m.errors === 0;
    ok &&= met;
    console.log(
      `  RESULT ${m.label}: ${(ratio * 100).toFixed(0)}% of bare req/s (target ≥ ${TARGET * 100}%) ${met ? 'ok' : 'MISSED'}`,
    );
  }
  console.log(`  load average at end: ${load()}; whole run ${run.seconds().toFixed(0)} s`);
} finally {
  await run.cleanup();
}
process.exit(ok ? 0 : 1);
