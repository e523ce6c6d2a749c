// Two app instances on one Postgres database drain one outbox at the same time: every message reaches the
// (fake) provider exactly once, and a crashed sender's claim is picked up after its lease.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { buildTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { FakeTwilio, twilioEnv } from '../helpers/fake-twilio.js';
import { hasPostgres } from '../helpers/services.js';
import { bdPhone } from './fixtures.js';

const MESSAGES = 1000;

let fake: FakeTwilio;
before(async () => {
  fake = await FakeTwilio.start();
});
after(async () => {
  await fake.stop();
});

describe('exactly once across instances [postgres]', { skip: !(await hasPostgres()) }, () => {
  test(`two instances draining ${MESSAGES} due messages send each exactly once`, async (t) => {
    const env = { ...twilioEnv(fake), NOTIFY_CRON: 'false', PUBLIC_URL: 'https://care.example' };
    const first = await buildTestApp(t, { backend: 'postgres', env });
    const url = first.databaseUrl as string;
    const second = await buildApp(
      loadConfig({
        DATABASE_URL: url,
        JWT_SECRET: TEST_JWT_SECRET,
        ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
        LOG_LEVEL: 'silent',
        ...env,
      }),
      { database: await openDatabase({ url }), logger: false },
    );
    t.after(() => second.close());
    await second.ready();

    const now = new Date();
    const rows = Array.from({ length: MESSAGES }, (_, i) => ({
      dedupeKey: `notice:exactly-once:${i}`,
      kind: 'notice',
      channel: 'sms' as const,
      recipient: bdPhone(i),
      payload: JSON.stringify({ tz: 'Asia/Dhaka', text: `message ${i}` }),
      urgent: true,
      sendAfter: now,
    }));
    for (let i = 0; i < rows.length; i += 250)
      await first.app.db
        .insertInto('notificationOutbox')
        .values(rows.slice(i, i + 250))
        .execute();
    // Enqueueing again (another instance handling the same event) adds nothing.
    const again = await first.app.db
      .insertInto('notificationOutbox')
      .values(rows.slice(0, 100))
      .onConflict((oc) => oc.column('dedupeKey').doNothing())
      .executeTakeFirst();
    assert.equal(Number(again.numInsertedOrUpdatedRows ?? 0), 0);
    // A sender that died mid-send (lease over) and one still working (lease ahead).
    await first.app.db
      .insertInto('notificationOutbox')
      .values([
        {
          dedupeKey: 'notice:crashed',
          kind: 'notice',
          channel: 'sms',
          recipient: bdPhone(5000),
          payload: JSON.stringify({ tz: 'Asia/Dhaka', text: 'crashed sender' }),
          urgent: true,
          sendAfter: now,
          status: 'sending',
          attempts: 1,
          leaseUntil: new Date(now.getTime() - 1000),
        },
        {
          dedupeKey: 'notice:busy',
          kind: 'notice',
          channel: 'sms',
          recipient: bdPhone(5001),
          payload: JSON.stringify({ tz: 'Asia/Dhaka', text: 'busy sender' }),
          urgent: true,
          sendAfter: now,
          status: 'sending',
          attempts: 1,
          leaseUntil: new Date(now.getTime() + 3600_000),
        },
      ])
      .execute();

    fake.reset();
    const [a, b] = await Promise.all([
      first.app.notifications.worker.drainAll(),
      second.notifications.worker.drainAll(),
    ]);
    const sentBy = (results: typeof a) => results.reduce((n, r) => n + r.sent, 0);
    assert.ok(sentBy(a) > 0 && sentBy(b) > 0, `both instances sent (${sentBy(a)} / ${sentBy(b)})`);
    assert.equal(sentBy(a) + sentBy(b), MESSAGES + 1);

    const perBody = new Map<string, number>();
    for (const m of fake.messages) perBody.set(m.body, (perBody.get(m.body) ?? 0) + 1);
    assert.equal(fake.messages.length, MESSAGES + 1);
    for (let i = 0; i < MESSAGES; i++) assert.equal(perBody.get(`message ${i}`), 1, `message ${i}`);
    assert.equal(perBody.get('crashed sender'), 1, 'the expired claim was taken over');
    assert.equal(perBody.get('busy sender'), undefined, 'a live claim is left alone');
    const statuses = await first.app.db
      .selectFrom('notificationOutbox')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    assert.deepEqual(Object.fromEntries(statuses.map((s) => [s.status, Number(s.n)])), {
      sent: MESSAGES + 1,
      sending: 1,
    });
  });
});
