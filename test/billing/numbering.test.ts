// Invoice numbers stay gapless and unique per hospital and year when two instances complete visits of
// several queues of one hospital at the same time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { buildTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { REDIS_URL, skipWithout } from '../helpers/services.js';
import { billingClinic, callNext } from './fixtures.js';

const QUEUES = 4;
const VISITS = 12;

test('concurrent completions on two instances number invoices 1..N exactly, per hospital', {
  skip: await skipWithout('postgres', 'redis'),
}, async (t) => {
  const { app: a, databaseUrl, redisPrefix } = await buildTestApp(t, { backend: 'postgres', redis: true });
  const b = await buildApp(
    loadConfig({
      DATABASE_URL: databaseUrl as string,
      REDIS_URL,
      REDIS_PREFIX: redisPrefix as string,
      JWT_SECRET: TEST_JWT_SECRET,
      ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
      LOG_LEVEL: 'silent',
      SEED_DEMO: 'false',
      MAX_EVENT_LOOP_DELAY_MS: '0',
    }),
    { logger: false },
  );
  t.after(() => b.close());
  const c = await billingClinic(a, { queues: QUEUES, patients: 0, walkIns: VISITS, fee: 400 });
  const queues = [
    ...c.queues.map((q) => ({ ...q, staff: c.staff })),
    { ...c.otherQueue, staff: c.otherStaff },
  ];

  // Every queue gets one call-next per visit and one more, all at once and alternating between the
  // instances: each ends the visit in progress (the last only ends one).
  const requests = queues.flatMap((q) =>
    Array.from({ length: q.visits.length + 1 }, (_, i) => callNext(i % 2 === 0 ? a : b, q.staff, q.queueId)),
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
