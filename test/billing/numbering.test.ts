// Invoice numbers stay gapless and unique per hospital and year when two server processes complete visits
// of several queues of one hospital at the same time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildTestApp } from '../helpers/app.js';
import { REDIS_URL, skipWithout } from '../helpers/services.js';
import type { TestUser } from '../helpers/users.js';
import { startServer } from '../queue/servers.js';
import { billingClinic } from './fixtures.js';

const QUEUES = 4;
const VISITS = 12;

test('concurrent completions on two server processes number invoices 1..N exactly, per hospital', {
  skip: await skipWithout('postgres', 'redis'),
}, async (t) => {
  const { app: a, databaseUrl, redisPrefix } = await buildTestApp(t, { backend: 'postgres', redis: true });
  const env = { DATABASE_URL: databaseUrl as string, REDIS_URL, REDIS_PREFIX: redisPrefix as string };
  const servers = await Promise.all([startServer(env), startServer(env)]);
  t.after(() => Promise.all(servers.map((s) => s.stop())));
  const c = await billingClinic(a, { queues: QUEUES, patients: 0, walkIns: VISITS, fee: 400 });
  const queues = [
    ...c.queues.map((q) => ({ ...q, staff: c.staff })),
    { ...c.otherQueue, staff: c.otherStaff },
  ];
  const callNext = async (base: string, staff: TestUser, queueId: string) => {
    const res = await fetch(`${base}/v1/queues/${queueId}/call-next`, {
      method: 'POST',
      headers: { ...staff.auth, 'content-type': 'application/json' },
      body: '{}',
    });
    return { statusCode: res.status, body: await res.text() };
  };

  // Every queue gets one call-next per visit and one more, all at once and alternating between the two
  // servers: each ends the visit in progress (the last only ends one).
  const requests = queues.flatMap((q) =>
    Array.from({ length: q.visits.length + 1 }, (_, i) => callNext(servers[i % 2].url, q.staff, q.queueId)),
  );
  const answers = await Promise.all(requests);
  assert.deepEqual(
    answers.filter((r) => r.statusCode !== 200).map((r) => r.body),
    [],
    'every call-next succeeded',
  );

  const completed = await a.db
    .selectFrom('appointments')
    .select('id')
    .where(
      'queueId',
      'in',
      c.queues.map((q) => q.queueId),
    )
    .where('status', '=', 'completed')
    .execute();
  assert.equal(completed.length, QUEUES * VISITS);
  const invoices = await a.db
    .selectFrom('invoices')
    .select(['seq', 'number', 'appointmentId'])
    .where('hospitalId', '=', c.hospitalId)
    .orderBy('seq')
    .execute();
  assert.deepEqual(
    invoices.map((i) => i.seq),
    Array.from({ length: QUEUES * VISITS }, (_, i) => i + 1),
    'numbers 1..N, no gap, no duplicate',
  );
  assert.deepEqual(
    invoices.map((i) => i.appointmentId).sort(),
    completed.map((r) => r.id).sort(),
    'one invoice per completed visit',
  );
  assert.equal(new Set(invoices.map((i) => i.number)).size, invoices.length);
  const other = await a.db
    .selectFrom('invoices')
    .select('seq')
    .where('hospitalId', '=', c.otherHospitalId)
    .orderBy('seq')
    .execute();
  assert.deepEqual(
    other.map((i) => i.seq),
    [1],
    'the other hospital counts on its own (one patient there)',
  );
});
