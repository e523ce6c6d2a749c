// CareQueue on a real Redis Cluster (3 masters started by the test): the queue store contract, a broadcast
// from instance A to a socket on instance B through the sharded adapter, and what the service does while the
// master holding a queue's slot is dead (SIGKILLed by its PID) and once it is back.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { io as connect } from 'socket.io-client';
import { RedisQueueStore } from '../../src/modules/queue/queue.store.redis.js';
import { buildAppOn } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { skipWithout } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { queueFixture } from '../queue/ops.fixtures.js';
import { startServer } from '../queue/servers.js';
import { queueStoreContract } from '../queue/store.contract.js';

// Every await before the first suite is registered: the runner starts the suites (and, once they are done,
// the file's `after`) while the module is still being evaluated.
const skip = await skipWithout('redis-server');
const skipApps = skip || (await skipWithout('postgres'));
const cluster = skip ? null : await startRedisCluster(3);
after(() => cluster?.stop());

const clusterClient = () => {
  const client = new Cluster(cluster?.nodes ?? [], { redisOptions: { maxRetriesPerRequest: 2 } });
  client.on('error', () => {});
  return client;
};

queueStoreContract(
  'redis cluster',
  async () => {
    const client = clusterClient();
    return {
      store: new RedisQueueStore(client, { prefix: `cqt:cluster:${randomBytes(4).toString('hex')}:` }),
      close: async () => {
        client.disconnect();
      },
    };
  },
  { skip },
);

/** A request that must answer (anything) within the bound: a hang fails the test. */
async function answer(
  url: string,
  init: RequestInit = {},
): Promise<{ status: number; code?: string; ms: number }> {
  const started = Date.now();
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const body = (await res.json().catch(() => ({}))) as { code?: string };
  return { status: res.status, code: body.code, ms: Date.now() - started };
}

describe('CareQueue on a Redis Cluster', { skip: skipApps }, () => {
  test('B hears A’s call-next; with the queue’s master killed requests answer 200 or 503 UNAVAILABLE; recovery once it is back', async (t) => {
    if (!cluster) return;
    const database = await createPostgresDatabase();
    const prefix = `cqt:${randomBytes(5).toString('hex')}:`;
    const seeder = await buildAppOn(database.url);
    const env = { DATABASE_URL: database.url, REDIS_CLUSTER_NODES: cluster.env, REDIS_PREFIX: prefix };
    const servers = await Promise.all([startServer(env), startServer(env)]);
    const [a, b] = servers;
    let logs = '';
    for (const server of servers) {
      server.child.stdout?.on('data', (chunk: Buffer) => {
        // Errors only: while a master is down the adapter's connections log a warning many times a second.
        const errors = chunk
          .toString()
          .split('\n')
          .filter((line) => line.includes('"level":50'));
        logs = [logs, ...errors].join('\n').slice(-20_000);
      });
    }
    const probe = clusterClient();
    const socket = connect(b.url, { transports: ['websocket'], forceNew: true });
    t.after(async () => {
      socket.close();
      probe.disconnect();
      await Promise.all(servers.map((s) => s.stop()));
      await seeder.close();
      await database.drop();
    });

    const f = await queueFixture(seeder, { count: 12, now: new Date() });
    // As a load balancer would: send traffic once each instance says it is ready.
    for (const server of servers) {
      await waitFor(
        `${server.url} ready`,
        async () => (await answer(`${server.url}/ready`)).status === 200,
        20_000,
        200,
      );
    }
    const seen: number[] = [];
    socket.on('queue:update', (u: { version: number }) => seen.push(u.version));
    const watch = async () => {
      const ack = await socket.timeout(5000).emitWithAck('queue:watch', { queueId: f.queueId });
      assert.equal(ack.ok, true, `${JSON.stringify(ack)}\n${logs}`);
    };
    await watch();
    // The adapter re-subscribes a rejoined socket's room; a reconnect after an outage watches again.
    socket.io.on('reconnect', () => void watch());

    const callNext = (base: string) =>
      answer(`${base}/v1/queues/${f.queueId}/call-next`, { method: 'POST', headers: f.staff.auth });
    const snapshot = (base: string) => answer(`${base}/v1/queues/${f.queueId}`, { headers: f.staff.auth });

    // 1. Healthy cluster: a change on A reaches a socket on B (sharded pub/sub), snapshots come from the cluster.
    const first = await fetch(`${a.url}/v1/queues/${f.queueId}/call-next`, {
      method: 'POST',
      headers: f.staff.auth,
    });
    assert.equal(first.status, 200, await first.clone().text());
    const { version } = (await first.json()) as { version: number };
    await waitFor(`v${version} on the socket on B`, () => seen.includes(version), 10_000);
    assert.equal((await snapshot(b.url)).status, 200);
    assert.equal((await answer(`${a.url}/ready`)).status, 200);
    const keys = (await Promise.all(probe.nodes('master').map((node) => node.keys(`${prefix}*`)))).flat();
    assert.ok(
      keys.some((k) => k.startsWith(`${prefix}{q:${f.queueId}}:`)),
      'the queue projection is on the cluster',
    );

    // 2. SIGKILL the master that holds this queue's slot.
    const slot = (await probe.cluster('KEYSLOT', `${prefix}{q:${f.queueId}}:m`)) as number;
    const ranges = await probe.cluster('SLOTS');
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
    assert.ok(owner);
    const index = cluster.nodes.findIndex((n) => n.port === owner[2][1]);
    const pid = cluster.pid(index);
    await cluster.kill(index);
    assert.equal(cluster.pid(index), null, `redis-server ${pid} is gone`);

    // For 6 s (past the 2 s node timeout, so both "connection refused" and CLUSTERDOWN are seen), every request
    // answers within the bound: mutations commit in Postgres, reads answer or say 503 UNAVAILABLE, never 500.
    const outcomes: { what: string; status: number; code?: string; ms: number }[] = [];
    const until = Date.now() + 6000;
    while (Date.now() < until) {
      for (const [what, request] of [
        ['call-next on A', () => callNext(a.url)],
        ['snapshot on B', () => snapshot(b.url)],
        ['ready on A', () => answer(`${a.url}/ready`)],
      ] as const) {
        outcomes.push({ what, ...(await request()) });
      }
    }
    const seenOutcomes = new Map<string, number>();
    for (const o of outcomes) {
      const key = `${o.what}: ${o.status}${o.code ? ` ${o.code}` : ''}`;
      seenOutcomes.set(key, Math.max(seenOutcomes.get(key) ?? 0, o.ms));
    }
    t.diagnostic(
      `master ${index} (pid ${pid}) killed, ${outcomes.length} requests: ` +
        [...seenOutcomes].map(([key, ms]) => `${key} (slowest ${ms} ms)`).join('; '),
    );
    for (const o of outcomes) {
      assert.ok(
        o.status === 200 || (o.status === 503 && o.code === 'UNAVAILABLE'),
        `${o.what}: ${o.status} ${o.code}\n${logs}`,
      );
    }
    assert.ok(
      outcomes.some((o) => o.what === 'ready on A' && o.status === 503),
      '/ready says the cluster is down',
    );
    const committed = await seeder.db
      .selectFrom('sessionDays')
      .select('version')
      .where('id', '=', f.queueId)
      .executeTakeFirstOrThrow();

    // 3. Restart it (empty: no persistence): the projection is rebuilt from Postgres and broadcasts resume.
    await cluster.restart(index);
    await waitFor(
      'a snapshot on B at the committed version',
      async () => {
        const res = await fetch(`${b.url}/v1/queues/${f.queueId}`, { headers: f.staff.auth });
        return (
          res.status === 200 && ((await res.json()) as { version: number }).version === committed.version
        );
      },
      20_000,
      200,
    );
    assert.equal((await answer(`${a.url}/ready`)).status, 200);
    const after = await fetch(`${a.url}/v1/queues/${f.queueId}/call-next`, {
      method: 'POST',
      headers: f.staff.auth,
    });
    assert.equal(after.status, 200);
    const next = ((await after.json()) as { version: number }).version;
    await waitFor(`v${next} on the socket on B after recovery`, () => seen.includes(next), 15_000);
  });
});
