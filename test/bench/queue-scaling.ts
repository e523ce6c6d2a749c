// Benchmark: does a queue operation cost the same with 10 and with 10,000 waiting? Measured end to end over
// HTTP on one real server process (Postgres + Redis, scratch database, own key prefix): staff POST call-next,
// then complete the called entry; each timed from the request going out until a guest socket watching the queue
// has the `queue:update` of that version — request in → commit (with the outbox rows the change makes due) →
// projection → broadcast. A walk-in after each round keeps both queues at their length. Rounds alternate
// between the two queues so that machine noise hits both alike. Prints medians, p90 and the 10,000 / 10 ratio
// (target ≤ 1.2×), then the store-only figures (queue-scaling-store.ts) as a secondary line.
// Run: npm run bench -- queue-scaling   (bounded: BENCH_ROUNDS per queue, default 30, or BENCH_SECONDS of rounds,
// default 45, whichever ends first; BENCH_TIMEOUT_SECONDS default 200)
import { io as connect, type Socket } from 'socket.io-client';
import {
  backing,
  load,
  machine,
  median,
  ms,
  percentile,
  Run,
  requireServices,
  type SeededQueue,
  seedClinic,
  seeder,
  seedQueue,
  startInstances,
} from './kit.js';
import { runQueueScaling } from './queue-scaling-store.js';

const SMALL = 10;
const LARGE = 10_000;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);
const WARMUP = 3;
/** Measuring stops after this long once MIN_ROUNDS are in (a slow path at 10,000 takes seconds a round). */
const BUDGET_SECONDS = Number(process.env.BENCH_SECONDS ?? 45);
const MIN_ROUNDS = 5;
const TARGET = 1.2;

interface Update {
  queueId: string;
  version: number;
}

/** Resolves when the watcher has seen `queueId` reach `version`. */
class Watcher {
  readonly #seen = new Map<string, number>();
  readonly #waiting: { queueId: string; version: number; resolve: () => void }[] = [];

  constructor(readonly socket: Socket) {
    socket.on('queue:update', (update: Update) => {
      this.#seen.set(update.queueId, Math.max(this.#seen.get(update.queueId) ?? 0, update.version));
      for (const w of [...this.#waiting]) {
        if (w.queueId === update.queueId && update.version >= w.version) {
          this.#waiting.splice(this.#waiting.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  }

  watch(queueId: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.emit(
        'queue:watch',
        { queueId },
        (ack: { ok?: boolean; version?: number; error?: unknown }) => {
          if (!ack.ok) return reject(new Error(`queue:watch: ${JSON.stringify(ack.error)}`));
          this.#seen.set(queueId, ack.version ?? 0);
          resolve();
        },
      );
    });
  }

  reached(queueId: string, version: number): Promise<void> {
    if ((this.#seen.get(queueId) ?? 0) >= version) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no queue:update ${version} for ${queueId}`)), 15_000);
      this.#waiting.push({
        queueId,
        version,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}

await requireServices('queue-scaling', true);
const run = new Run('queue-scaling', Number(process.env.BENCH_TIMEOUT_SECONDS ?? 200));
let ok = false;
try {
  const { env } = await backing(run);
  const app = await seeder(run, env.DATABASE_URL);
  const clinic = await seedClinic(app, 2, 500);
  const small = await seedQueue(app, clinic, 0, SMALL);
  const large = await seedQueue(app, clinic, 1, LARGE);
  // The event-loop refusal off: at 10,000 waiting a slow step can lag the loop past its bound on a loaded
  // machine, and this bench measures what each operation costs, not when the server starts refusing.
  const [server] = await startInstances(run, 1, { ...env, MAX_EVENT_LOOP_DELAY_MS: '0' });
  const socket = connect(server.url, { transports: ['websocket'], forceNew: true });
  run.defer(() => socket.close());
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const watcher = new Watcher(socket);

  const post = async (url: string, body?: unknown) => {
    const res = await fetch(`${server.url}${url}`, {
      method: 'POST',
      headers: {
        authorization: clinic.staff.auth,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = (await res.json()) as {
      version: number;
      appointmentId?: string | null;
      code?: string;
      message?: string;
    };
    if (!res.ok) throw new Error(`POST ${url}: ${res.status} ${json.code} ${json.message}`);
    return json;
  };

  /** One operation timed until the watcher has its broadcast. */
  const timed = async (queueId: string, url: string) => {
    const started = performance.now();
    const result = await post(url);
    await watcher.reached(queueId, result.version);
    return { ms: performance.now() - started, result };
  };

  const lanes = [
    { size: SMALL, queue: small, callNext: [] as number[], complete: [] as number[] },
    { size: LARGE, queue: large, callNext: [] as number[], complete: [] as number[] },
  ];
  const round = async (lane: (typeof lanes)[number], record: boolean, i: number) => {
    const q: SeededQueue = lane.queue;
    const called = await timed(q.queueId, `/v1/queues/${q.queueId}/call-next`);
    const appointmentId = called.result.appointmentId;
    if (!appointmentId) throw new Error('call-next called nobody');
    const done = await timed(q.queueId, `/v1/queues/${q.queueId}/entries/${appointmentId}/complete`);
    const refill = await post(`/v1/queues/${q.queueId}/walk-ins`, { name: `Walk In ${i}` });
    await watcher.reached(q.queueId, refill.version);
    if (record) {
      lane.callNext.push(called.ms);
      lane.complete.push(done.ms);
    }
  };

  console.log(`queue-scaling over HTTP: ${SMALL} vs ${LARGE} waiting; machine: ${machine()} at start`);
  for (const lane of lanes) await watcher.watch(lane.queue.queueId);
  const measuring = performance.now();
  for (let i = 0; i < WARMUP + ROUNDS; i++) {
    for (const lane of lanes) await round(lane, i >= WARMUP, i);
    const measured = i + 1 - WARMUP;
    if (measured >= MIN_ROUNDS && performance.now() - measuring > BUDGET_SECONDS * 1000) break;
  }
  console.log(`  ${lanes[0].callNext.length} rounds measured per queue`);
  ok = true;
  for (const op of ['callNext', 'complete'] as const) {
    const [a, b] = lanes.map((lane) => lane[op]);
    const ratio = median(b) / median(a);
    const met = ratio <= TARGET;
    ok &&= met;
    console.log(
      `  ${(op === 'callNext' ? 'call-next' : 'complete').padEnd(9)}  ${SMALL} waiting: median ${ms(median(a))}, p90 ${ms(percentile(a, 90))}` +
        `   ${LARGE} waiting: median ${ms(median(b))}, p90 ${ms(percentile(b, 90))}`,
    );
    console.log(
      `  RESULT ${op === 'callNext' ? 'call-next' : 'complete'}: ${ratio.toFixed(2)}× at ${LARGE} vs ${SMALL} (target ≤ ${TARGET}×) ${met ? 'ok' : 'MISSED'}`,
    );
  }
  console.log(`  load average at end: ${load()}; HTTP part ${run.seconds().toFixed(0)} s`);
  // The store alone (no HTTP, no Postgres), the figure this bench printed before.
  if (process.env.BENCH_STORE !== '0') await runQueueScaling();
} finally {
  await run.cleanup();
}
process.exit(ok ? 0 : 1);
