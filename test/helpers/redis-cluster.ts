// A real Redis Cluster for tests: N masters started from `redis-server --cluster-enabled yes` on free ports
// of 127.0.0.1, each with a temporary directory and no persistence, joined by `redis-cli --cluster create`.
// Every process is this helper's own (stop() ends them by PID); every wait is bounded. Tests skip without the
// binaries through skipWithout('redis-server').
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sleep, waitFor } from './wait.js';

const run = promisify(execFile);

async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port whose cluster bus port (port + 10000) is free too. */
async function freePort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 30_000);
    if (taken.has(port) || taken.has(port + 10_000)) continue;
    if ((await isFree(port)) && (await isFree(port + 10_000))) {
      taken.add(port);
      taken.add(port + 10_000);
      return port;
    }
  }
  throw new Error('no free port pair for a Redis Cluster node');
}

interface ClusterNodeProcess {
  port: number;
  dir: string;
  child: ChildProcess | null;
}

export interface RedisClusterHandle {
  nodes: { host: string; port: number }[];
  /** REDIS_CLUSTER_NODES for an app. */
  env: string;
  /** The PID of node i's redis-server (null while it is down). */
  pid(i: number): number | null;
  /** SIGKILLs node i's process and waits for it to exit. */
  kill(i: number): Promise<void>;
  /** Starts node i again on its port and config file; resolves once the cluster is whole again. */
  restart(i: number): Promise<void>;
  stop(): Promise<void>;
}

const cli = (port: number, ...args: string[]) =>
  run('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], { timeout: 5000 }).then((r) => r.stdout);

function startNode(node: ClusterNodeProcess): ChildProcess {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(node.port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(node.dir, 'nodes.conf'),
      // A dead master is marked failed after 2 s (the default, 15 s, would make the test slow).
      '--cluster-node-timeout',
      '2000',
      '--dir',
      node.dir,
      '--save',
      '',
      '--appendonly',
      'no',
    ],
    { stdio: 'ignore' },
  );
  node.child = child;
  child.once('exit', () => {
    if (node.child === child) node.child = null;
  });
  return child;
}

async function waitForPing(port: number): Promise<void> {
  await waitFor(
    `redis-server on ${port} to answer`,
    () =>
      cli(port, 'ping').then(
        (out) => out.trim() === 'PONG',
        () => false,
      ),
    10_000,
    50,
  );
}

async function waitForClusterOk(nodes: ClusterNodeProcess[]): Promise<void> {
  await waitFor(
    'every cluster node to report cluster_state:ok',
    async () => {
      const states = await Promise.all(nodes.map((n) => cli(n.port, 'cluster', 'info').catch(() => '')));
      return states.every((s) => s.includes('cluster_state:ok'));
    },
    20_000,
    100,
  );
}

export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const taken = new Set<number>();
  const nodes: ClusterNodeProcess[] = [];
  const stop = async () => {
    await Promise.all(nodes.map((n) => stopNode(n)));
    await Promise.all(nodes.map((n) => rm(n.dir, { recursive: true, force: true })));
  };
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push({
        port: await freePort(taken),
        dir: await mkdtemp(join(tmpdir(), 'cq-redis-cluster-')),
        child: null,
      });
    }
    for (const node of nodes) startNode(node);
    await Promise.all(nodes.map((n) => waitForPing(n.port)));
    await run(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { timeout: 30_000 },
    );
    await waitForClusterOk(nodes);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    nodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
    env: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    pid: (i) => nodes[i].child?.pid ?? null,
    kill: (i) => stopNode(nodes[i], 'SIGKILL'),
    restart: async (i) => {
      if (nodes[i].child) throw new Error(`node ${i} is still running`);
      startNode(nodes[i]);
      await waitForPing(nodes[i].port);
      await waitForClusterOk(nodes);
    },
    stop,
  };
}

async function stopNode(node: ClusterNodeProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const child = node.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await Promise.race([exited, sleep(10_000)]);
  clearTimeout(timer);
}
