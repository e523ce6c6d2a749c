// Two app instances on one Postgres database drain one outbox at the same time: every message reaches the
// (fake) provider exactly once, and a crashed sender's claim is picked up after its lease. Once in-process
// (two apps, ticks driven by the test) and once as two real server processes on their own cron ticks.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { openDatabase } from '../../src/db/connect.js';
import { buildTestApp, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET } from '../helpers/app.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { FAKE_FROM, FakeTwilio, twilioEnv } from '../helpers/fake-twilio.js';
import { skipWithout } from '../helpers/services.js';
import { bdPhone } from './fixtures.js';
import { type ServerProcess, startServer } from './server-process.js';

const MESSAGES = 1000;
/** Fewer recipients than messages: each one gets several, each exactly once. */
const RECIPIENTS = 200;
/** Upper bound for two processes to drain everything; exceeding it fails the test instead of hanging it. */
const DRAIN_LIMIT_MS = 120_000;

let fake: FakeTwilio;
before(async () => {
  fake = await FakeTwilio.start();
});
after(async () => {
  await fake.stop();
});

describe('exactly once across instances [postgres]', { skip: await skipWithout('postgres') }, () => {
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

  test(`two server processes on their own cron ticks send ${MESSAGES} due messages exactly once`, async (t) => {
    const database = await createPostgresDatabase();
    const servers: ServerProcess[] = [];
    const { db } = await openDatabase({ url: database.url, poolSize: 2 });
    t.after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await db.destroy();
      await database.drop();
    });
    // Each process signs its messages with its own sender number, so the fake's record says who sent what.
    const senders = [FAKE_FROM, '+15005550007'];
    const env = (from: string) => ({
      ...twilioEnv(fake),
      TWILIO_FROM: from,
      DATABASE_URL: database.url,
      PUBLIC_URL: 'https://care.example',
      NOTIFY_CRON: 'true',
      OUTBOX_DRAIN_CRON: '* * * * * *',
    });
    servers.push(...(await Promise.all(senders.map((from) => startServer(env(from))))));
    for (const server of servers) assert.equal((await fetch(`${server.url}/ready`)).status, 200);

    fake.reset();
    const now = new Date();
    const rows = Array.from({ length: MESSAGES }, (_, i) => ({
      dedupeKey: `notice:processes:${i}`,
      kind: 'notice',
      channel: 'sms' as const,
      recipient: bdPhone(i % RECIPIENTS),
      payload: JSON.stringify({ tz: 'Asia/Dhaka', text: `message ${i}` }),
      urgent: true,
      sendAfter: now,
    }));
    for (let i = 0; i < rows.length; i += 250)
      await db
        .insertInto('notificationOutbox')
        .values(rows.slice(i, i + 250))
        .execute();

    const deadline = Date.now() + DRAIN_LIMIT_MS;
    let left = MESSAGES;
    while (left > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const open = await db
        .selectFrom('notificationOutbox')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', 'in', ['pending', 'sending'])
        .executeTakeFirstOrThrow();
      left = Number(open.n);
    }
    assert.equal(
      left,
      0,
      `drained within ${DRAIN_LIMIT_MS} ms\n${servers.map((s) => s.stderr()).join('\n')}`,
    );
    // Two more ticks on both processes: nothing already sent goes out again.
    await new Promise((resolve) => setTimeout(resolve, 2500));

    const perKey = new Map<string, number>();
    for (const m of fake.messages) {
      const key = `${m.to} ${m.body}`;
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
    }
    for (let i = 0; i < MESSAGES; i++)
      assert.equal(perKey.get(`${bdPhone(i % RECIPIENTS)} message ${i}`), 1, `message ${i}`);
    assert.equal(fake.messages.length, MESSAGES, 'nothing else and nothing twice');
    assert.equal(fake.requests, MESSAGES, 'no retried request either');
    const bySender = senders.map((from) => fake.messages.filter((m) => m.from === from).length);
    assert.ok(
      bySender.every((n) => n > 0),
      `both processes sent some (${bySender.join(' / ')})`,
    );
    const statuses = await db
      .selectFrom('notificationOutbox')
      .select(['status', 'attempts', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['status', 'attempts'])
      .execute();
    assert.deepEqual(
      statuses.map((s) => ({ status: s.status, attempts: s.attempts, n: Number(s.n) })),
      [{ status: 'sent', attempts: 1, n: MESSAGES }],
    );
    const codes = await Promise.all(servers.map((s) => s.stop()));
    assert.deepEqual(codes, [0, 0], 'both stop cleanly between ticks');
  });
});
