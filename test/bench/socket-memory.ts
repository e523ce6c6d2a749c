// Benchmark: server memory per connected socket, CareQueue against a bare Socket.IO server, in the same run.
// Each server runs in a child process of its own (so the clients' memory is not counted) with --expose-gc;
// the parent opens N real socket.io-client connections that each watch one queue (guests, as lobby screens
// and phones are), and the child reports heap and RSS after a full GC before and after. Target ≤ 1.3× bare.
// Run: npx tsx test/bench/socket-memory.ts   (SOCKET_MEMORY_SOCKETS, default 5000; SOCKET_MEMORY_REDIS=1
// puts both servers on the Redis adapter at 127.0.0.1:6379; embedded PGlite and the in-memory adapter otherwise)
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { createAdapter } from '@socket.io/redis-adapter';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { io as connect, type Socket } from 'socket.io-client';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { freshDatabase } from '../helpers/database.js';
import { REDIS_URL } from '../helpers/services.js';
import { queueFixture } from '../queue/ops.fixtures.js';

const SOCKETS = Number(process.env.SOCKET_MEMORY_SOCKETS ?? 5000);
const WITH_REDIS = process.env.SOCKET_MEMORY_REDIS === '1';
const TARGET = 1.3;

/** Deletes this run's keys (the shared helper is moving between test/helpers files). */
async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}

interface Ready {
  port: number;
  queueId: string;
  staffToken?: string;
}
interface Usage {
  heapUsed: number;
  rss: number;
}

// ---- the servers (this file again, forked with --serve <kind>) ----

async function settledUsage(): Promise<Usage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the server child with --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  const { heapUsed, rss } = process.memoryUsage();
  return { heapUsed, rss };
}

function answerMeasurements(): void {
  process.on('message', async (message) => {
    if (message === 'measure') process.send?.(await settledUsage());
    if (message === 'exit') process.exit(0);
  });
}

async function serveBare(prefix: string): Promise<Ready> {
  const http = createServer();
  const io = new Server(http, { serveClient: false });
  if (WITH_REDIS) {
    const pub = new Redis(REDIS_URL);
    const sub = pub.duplicate();
    io.adapter(createAdapter(pub, sub, { key: `${prefix}socket.io` }));
  }
  io.on('connection', (socket) => {
    socket.on('queue:watch', (payload: { queueId: string }, ack: (r: unknown) => void) => {
      void socket.join(`queue:${payload.queueId}`);
      ack({ ok: true });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  return { port: (http.address() as { port: number }).port, queueId: randomBytes(16).toString('hex') };
}

async function serveCareQueue(prefix: string): Promise<Ready> {
  const database = await freshDatabase('pglite');
  const config = loadConfig({
    DATA_DIR: '/nonexistent-bench-data-dir',
    ...(WITH_REDIS ? { REDIS_URL, REDIS_PREFIX: prefix } : {}),
    JWT_SECRET: TEST_JWT_SECRET,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    LOG_LEVEL: 'silent',
    SEED_DEMO: 'false',
    NOTIFY_CRON: 'false',
  });
  const app = await buildApp(config, { database: database.handle, logger: false });
  const f = await queueFixture(app, { count: 20 });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    port: (app.server.address() as { port: number }).port,
    queueId: f.queueId,
    staffToken: f.staff.token,
  };
}

// ---- the parent: connect, measure, compare ----

function startChild(
  kind: 'bare' | 'carequeue',
  prefix: string,
): Promise<{ child: ChildProcess; ready: Ready }> {
  const child = fork(import.meta.filename, ['--serve', kind, prefix], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (ready) => resolve({ child, ready: ready as Ready }));
    child.once('exit', (code) => reject(new Error(`${kind} server exited with ${code}`)));
  });
}

function measure(child: ChildProcess): Promise<Usage> {
  return new Promise((resolve) => {
    child.once('message', (usage) => resolve(usage as Usage));
    child.send('measure');
  });
}

async function openWatching(port: number, queueId: string, auth: Record<string, string>): Promise<Socket> {
  const socket = connect(`http://127.0.0.1:${port}`, {
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 30_000,
    auth,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  const ack = (await socket.timeout(30_000).emitWithAck('queue:watch', { queueId })) as { ok?: boolean };
  if (!ack.ok) throw new Error(`watch refused: ${JSON.stringify(ack)}`);
  return socket;
}

async function perSocket(
  kind: 'bare' | 'carequeue',
  auth: (ready: Ready) => Record<string, string>,
): Promise<{ heap: number; rss: number }> {
  const prefix = `cqb:${randomBytes(4).toString('hex')}:`;
  const { child, ready } = await startChild(kind, prefix);
  const sockets: Socket[] = [];
  try {
    // A few connections first, so lazily built per-server state is not counted against the sockets.
    for (let i = 0; i < 20; i++) sockets.push(await openWatching(ready.port, ready.queueId, auth(ready)));
    const before = await measure(child);
    for (let i = 0; i < SOCKETS; i += 200) {
      const batch = Array.from({ length: Math.min(200, SOCKETS - i) }, () =>
        openWatching(ready.port, ready.queueId, auth(ready)),
      );
      sockets.push(...(await Promise.all(batch)));
    }
    const after = await measure(child);
    return { heap: (after.heapUsed - before.heapUsed) / SOCKETS, rss: (after.rss - before.rss) / SOCKETS };
  } finally {
    for (const s of sockets) s.close();
    child.send('exit');
    await new Promise((r) => child.once('exit', r));
    if (WITH_REDIS) await deleteRedisPrefix(prefix);
  }
}

async function main(): Promise<void> {
  const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`.padStart(9);
  console.log(`${SOCKETS} sockets watching one queue, ${WITH_REDIS ? 'Redis adapter' : 'in-memory adapter'}`);
  const bare = await perSocket('bare', () => ({}));
  const guests = await perSocket('carequeue', () => ({}));
  const staff = await perSocket('carequeue', (ready) => ({ token: ready.staffToken ?? '' }));
  console.log('                         heap/socket  rss/socket   heap ratio');
  for (const [name, r] of [
    ['bare Socket.IO', bare],
    ['CareQueue guests', guests],
    ['CareQueue staff', staff],
  ] as const) {
    console.log(`${name.padEnd(22)} ${kb(r.heap)}   ${kb(r.rss)}   ${(r.heap / bare.heap).toFixed(2)}×`);
  }
  const ratio = guests.heap / bare.heap;
  console.log(
    `guests: ${ratio.toFixed(2)}× bare heap per socket (target ≤ ${TARGET}×): ${ratio <= TARGET ? 'met' : 'NOT met'}`,
  );
}

if (process.argv.includes('--serve')) {
  const kind = process.argv[process.argv.indexOf('--serve') + 1];
  const prefix = process.argv[process.argv.indexOf('--serve') + 2];
  answerMeasurements();
  const ready = await (kind === 'bare' ? serveBare(prefix) : serveCareQueue(prefix));
  process.send?.(ready);
} else {
  await main();
}
