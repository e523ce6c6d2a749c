// Benchmark: fan-out of a `call-next` to every watcher of a queue across two instances sharing Redis, against
// a bare Socket.IO + @socket.io/redis-adapter pair broadcasting the same payload, measured in the same run.
// Prints p50/p99 of "request sent → last watcher of that queue received the update", their ratio (target:
// p99 ≤ 1.5× bare) and the server memory per connected socket. Bounded: SOCKETS sockets, ROUNDS calls per queue.
// Run: npx tsx test/bench/fanout.ts   (needs Postgres and Redis on 127.0.0.1)
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { DateTime } from 'luxon';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { hashToken, newOpaqueToken } from '../../src/lib/tokens.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { deleteRedisPrefix, REDIS_URL } from '../helpers/services.js';
import { makeUser } from '../helpers/users.js';
import { type ServerProcess, startServer } from '../queue/servers.js';

const QUEUES = Number(process.env.FANOUT_QUEUES ?? 50);
const SOCKETS = Number(process.env.FANOUT_SOCKETS ?? 5000);
const ROUNDS = Number(process.env.FANOUT_ROUNDS ?? 4);
const TARGET = 1.5;

// ---- bare baseline server (this same file, started as a child process with --bare) ----

function runBare(): void {
  const prefix = process.argv[process.argv.indexOf('--bare') + 1];
  const http = createServer();
  const io = new Server(http, { serveClient: false });
  const pub = new Redis(REDIS_URL);
  const sub = pub.duplicate();
  pub.on('error', () => {});
  sub.on('error', () => {});
  io.adapter(createAdapter(pub, sub, { key: `${prefix}socket.io` }));
  io.on('connection', (socket) => {
    socket.on('watch', (room: string, ack: () => void) => {
      void socket.join(room);
      ack();
    });
  });
  http.on('request', (req, res) => {
    if (req.method !== 'POST' || !req.url?.startsWith('/broadcast/')) return;
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      io.to(req.url!.slice('/broadcast/'.length)).emit('queue:update', JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  http.listen(0, '127.0.0.1', () => {
    console.log(`bare listening on ${(http.address() as { port: number }).port}`);
  });
  process.on('SIGTERM', () => {
    io.close();
    pub.disconnect();
    sub.disconnect();
    process.exit(0);
  });
}

function startBare(prefix: string): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', import.meta.filename, '--bare', prefix], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      const match = /bare listening on (\d+)/.exec(chunk.toString());
      if (match) resolve({ url: `http://127.0.0.1:${match[1]}`, child, stop });
    });
    child.once('exit', (code) => reject(new Error(`bare server exited with ${code}`)));
  });
}

// ---- measurement helpers ----

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))];
}

async function inBatches<T>(count: number, size: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < count; i += size) {
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(size, count - i) }, (_, j) => make(i + j)))),
    );
  }
  return out;
}

function open(url: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(url, {
      transports: ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: 30_000,
    });
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** Per queue: how many watchers got each version, and when the last one did. */
class Arrivals {
  #count = new Map<string, number>();
  #waiters = new Map<string, { need: number; resolve: (at: number) => void }>();
  record(key: string): void {
    const n = (this.#count.get(key) ?? 0) + 1;
    this.#count.set(key, n);
    const waiter = this.#waiters.get(key);
    if (waiter && n >= waiter.need) {
      this.#waiters.delete(key);
      waiter.resolve(performance.now());
    }
  }
  until(key: string, need: number): Promise<number> {
    return new Promise((resolve, reject) => {
      if ((this.#count.get(key) ?? 0) >= need) return resolve(performance.now());
      const timer = setTimeout(
        () => reject(new Error(`only ${this.#count.get(key) ?? 0}/${need} got ${key}`)),
        30_000,
      );
      this.#waiters.set(key, {
        need,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }
}

interface Phase {
  p50: number;
  p99: number;
  mean: number;
  samples: number;
  bytesPerSocket: number;
}

function summarize(latencies: number[], bytesPerSocket: number): Phase {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    mean: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    samples: sorted.length,
    bytesPerSocket,
  };
}

// ---- phases ----

async function seed(databaseUrl: string) {
  const app = await buildApp(
    loadConfig({
      DATABASE_URL: databaseUrl,
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      LOG_LEVEL: 'silent',
      SEED_DEMO: 'false',
    }),
    { logger: false },
  );
  const zone = 'Asia/Dhaka';
  const day = DateTime.now().setZone(zone).startOf('day');
  const hospital = await app.db
    .insertInto('hospitals')
    .values({ name: 'Bench Hospital', city: 'Dhaka', timezone: zone })
    .returning('id')
    .executeTakeFirstOrThrow();
  const doctor = await makeUser(app, 'doctor', { name: 'Dr. Bench' });
  const staff = await makeUser(app, 'staff', { hospitalId: hospital.id });
  const queueIds: string[] = [];
  const perQueue = ROUNDS + 2;
  for (let q = 0; q < QUEUES; q++) {
    const session = await app.db
      .insertInto('sessions')
      .values({
        doctorId: doctor.doctorId!,
        hospitalId: hospital.id,
        weekday: day.weekday,
        startTime: '00:00',
        endTime: '23:00',
        slotMinutes: 10,
        capacity: 100,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const queue = await app.db
      .insertInto('sessionDays')
      .values({
        sessionId: session.id,
        doctorId: doctor.doctorId!,
        hospitalId: hospital.id,
        date: day.toISODate()!,
        startsAt: day.toJSDate(),
        endsAt: day.plus({ hours: 23 }).toJSDate(),
        capacity: 100,
        slotMinutes: 10,
        nextSerial: perQueue + 1,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await app.db
      .insertInto('appointments')
      .values(
        Array.from({ length: perQueue }, (_, i) => ({
          queueId: queue.id,
          doctorId: doctor.doctorId!,
          date: day.toISODate()!,
          serial: i + 1,
          positionKey: i + 1,
          estimatedAt: day.toJSDate(),
          trackingTokenHash: hashToken(newOpaqueToken()),
          walkInName: `Bench ${q}-${i + 1}`,
        })),
      )
      .execute();
    queueIds.push(queue.id);
  }
  await app.close();
  return { queueIds, staff };
}

async function careQueuePhase(servers: ServerProcess[], queueIds: string[], token: string): Promise<Phase> {
  const arrivals = new Arrivals();
  const before = servers.map((s) => rssBytes(s.child.pid!));
  const sockets = await inBatches(SOCKETS, 250, async (i) => {
    const server = servers[i % servers.length];
    const socket = await open(server.url);
    const queueId = queueIds[Math.floor(i / servers.length) % queueIds.length];
    socket.on('queue:update', (u: { queueId: string; version: number }) =>
      arrivals.record(`${u.queueId}:${u.version}`),
    );
    const ack = await socket.timeout(30_000).emitWithAck('queue:watch', { queueId });
    if (!ack.ok) throw new Error(`watch refused: ${JSON.stringify(ack)}`);
    return socket;
  });
  await new Promise((r) => setTimeout(r, 2000));
  const after = servers.map((s) => rssBytes(s.child.pid!));
  const bytesPerSocket = (after[0] + after[1] - before[0] - before[1]) / SOCKETS;
  const watchersPerQueue = new Map<string, number>();
  for (let i = 0; i < SOCKETS; i++) {
    const queueId = queueIds[Math.floor(i / servers.length) % queueIds.length];
    watchersPerQueue.set(queueId, (watchersPerQueue.get(queueId) ?? 0) + 1);
  }
  const latencies: number[] = [];
  let n = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    for (const queueId of queueIds) {
      const server = servers[n++ % servers.length];
      const start = performance.now();
      const res = await fetch(`${server.url}/v1/queues/${queueId}/call-next`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}` },
      });
      const body = (await res.json()) as { version: number };
      if (!res.ok) throw new Error(`call-next: ${res.status} ${JSON.stringify(body)}`);
      const done = await arrivals.until(`${queueId}:${body.version}`, watchersPerQueue.get(queueId)!);
      latencies.push(done - start);
    }
  }
  for (const s of sockets) s.close();
  return summarize(latencies, bytesPerSocket);
}

async function barePhase(prefix: string, queueIds: string[], payload: object): Promise<Phase> {
  const servers = await Promise.all([startBare(prefix), startBare(prefix)]);
  try {
    const arrivals = new Arrivals();
    const before = servers.map((s) => rssBytes(s.child.pid!));
    const sockets = await inBatches(SOCKETS, 250, async (i) => {
      const server = servers[i % servers.length];
      const socket = await open(server.url);
      const queueId = queueIds[Math.floor(i / servers.length) % queueIds.length];
      socket.on('queue:update', (u: { queueId: string; version: number }) =>
        arrivals.record(`${u.queueId}:${u.version}`),
      );
      await socket.timeout(30_000).emitWithAck('watch', `queue:${queueId}`);
      return socket;
    });
    await new Promise((r) => setTimeout(r, 2000));
    const after = servers.map((s) => rssBytes(s.child.pid!));
    const bytesPerSocket = (after[0] + after[1] - before[0] - before[1]) / SOCKETS;
    const latencies: number[] = [];
    let n = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      for (const queueId of queueIds) {
        const server = servers[n++ % servers.length];
        const update = { ...payload, queueId, version: round, at: new Date().toISOString() };
        const start = performance.now();
        const res = await fetch(`${server.url}/broadcast/queue:${queueId}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(update),
        });
        await res.json();
        const done = await arrivals.until(`${queueId}:${round}`, SOCKETS / QUEUES);
        latencies.push(done - start);
      }
    }
    for (const s of sockets) s.close();
    return summarize(latencies, bytesPerSocket);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function main(): Promise<void> {
  const database = await createPostgresDatabase();
  const prefix = `cqbench:${randomBytes(4).toString('hex')}:`;
  const servers: ServerProcess[] = [];
  try {
    console.log(
      `fan-out bench: ${SOCKETS} sockets, ${QUEUES} queues, ${ROUNDS} call-next rounds, 2 instances + Redis`,
    );
    const { queueIds, staff } = await seed(database.url);
    const env = { DATABASE_URL: database.url, REDIS_URL, REDIS_PREFIX: prefix };
    servers.push(...(await Promise.all([startServer(env), startServer(env)])));
    // Warm both instances' projections and JIT before measuring.
    for (const s of servers) for (const q of queueIds.slice(0, 5)) await fetch(`${s.url}/v1/queues/${q}`);
    const careQueue = await careQueuePhase(servers, queueIds, staff.token);
    await Promise.all(servers.map((s) => s.stop()));
    const sample = {
      type: 'called',
      serial: 1,
      appointmentId: '3f2b8c1e-5d4a-4b6f-9c8d-7e6f5a4b3c2d',
      status: 'called',
      nowServing: 1,
      waiting: ROUNDS + 1,
      avgConsultSeconds: 600,
      paused: false,
    };
    const bare = await barePhase(`${prefix}bare:`, queueIds, sample);
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    console.log('');
    console.log(`                 p50         p99         mean        samples  memory/socket`);
    for (const [name, r] of [
      ['CareQueue', careQueue],
      ['bare adapter', bare],
    ] as const) {
      console.log(
        `${name.padEnd(16)} ${ms(r.p50).padEnd(11)} ${ms(r.p99).padEnd(11)} ${ms(r.mean).padEnd(11)} ${String(r.samples).padEnd(8)} ${Math.round(r.bytesPerSocket)} B`,
      );
    }
    const ratio = careQueue.p99 / bare.p99;
    console.log('');
    console.log(
      `p50 ratio ${(careQueue.p50 / bare.p50).toFixed(2)}×, p99 ratio ${ratio.toFixed(2)}× (target ≤ ${TARGET}×): ${ratio <= TARGET ? 'met' : 'NOT met'}`,
    );
    console.log(
      'CareQueue latency includes the Postgres transaction, the projection apply and the HTTP round trip; bare is HTTP + broadcast only.',
    );
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
    await deleteRedisPrefix(prefix);
    await database.drop();
  }
}

if (process.argv.includes('--bare')) runBare();
else await main();
