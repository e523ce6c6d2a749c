// A slow provider against the drain's lease: a claim whose lease runs short stops starting sends and gives
// the rest back, so a second instance never sends what this one is still sending. Two workers share one
// outbox and one ManualClock; the slow provider is the fake Twilio through the real SDK, with each answer
// moving the clock on.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/clock.js';
import type { DB } from '../../src/db/database.js';
import {
  type OutgoingMessage,
  type SendResult,
  type Transport,
  TwilioTransport,
} from '../../src/modules/notifications/notifications.transports.js';
import {
  LEASE_MARGIN_MS,
  NotificationsWorker,
  type WorkerLog,
} from '../../src/modules/notifications/notifications.worker.js';
import { buildTestApp } from '../helpers/app.js';
import { FAKE_FROM, FAKE_SID, FAKE_TOKEN, FakeTwilio } from '../helpers/fake-twilio.js';
import { databaseBackends } from '../helpers/services.js';
import { bdPhone } from './fixtures.js';

const START = '2026-05-04T06:00:00Z';
/** The production defaults: NOTIFY_TIMEOUT_MS, the lease it gives, the claim size and sends in flight. */
const TIMEOUT_MS = 10_000;
const LEASE_MS = 60_000;
const BATCH = 100;
const CONCURRENCY = 8;
/** Eight sends in flight, each answered after 8 s: the clock moves 1 s per answer. */
const ANSWER_MS = 1_000;
const SECOND_FROM = '+15005550007';

let fake: FakeTwilio;
before(async () => {
  fake = await FakeTwilio.start();
});
after(async () => {
  await fake.stop();
});

function twilio(from: string): TwilioTransport {
  return new TwilioTransport({
    accountSid: FAKE_SID,
    authToken: FAKE_TOKEN,
    from,
    apiUrl: fake.url,
    timeoutMs: TIMEOUT_MS,
    phoneRegion: 'BD',
  });
}

/** The fake Twilio answering slowly; `onAnswer` runs after each answer, while the next sends wait. */
class SlowProvider implements Transport {
  readonly channel = 'sms' as const;
  readonly name = 'slow twilio';
  /** Clock time at which each send started. */
  readonly starts: number[] = [];
  #paused: Promise<void> = Promise.resolve();
  constructor(
    private readonly inner: Transport,
    private readonly clock: ManualClock,
    private readonly stepMs: number,
    private readonly onAnswer: () => Promise<void> = async () => {},
  ) {}
  async send(message: OutgoingMessage): Promise<SendResult> {
    await this.#paused;
    this.starts.push(this.clock.now().getTime());
    const answer = await this.inner.send(message);
    this.clock.advance(this.stepMs);
    const next = this.#paused.then(this.onAnswer);
    this.#paused = next;
    await next;
    return answer;
  }
}

function collectingLog(): WorkerLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (_details, message) => lines.push(message) };
}

function worker(db: DB, clock: ManualClock, sms: Transport, log: WorkerLog) {
  return new NotificationsWorker({
    db,
    clock,
    transports: { sms, email: sms },
    log,
    leaseMs: LEASE_MS,
    sendTimeoutMs: TIMEOUT_MS,
    batchSize: BATCH,
    concurrency: CONCURRENCY,
    publicUrl: 'https://care.example',
    phoneRegion: 'BD',
  });
}

async function enqueue(db: DB, tag: string, count: number, at: Date) {
  await db
    .insertInto('notificationOutbox')
    .values(
      Array.from({ length: count }, (_, i) => ({
        dedupeKey: `notice:${tag}:${i}`,
        kind: 'notice',
        channel: 'sms' as const,
        recipient: bdPhone(i),
        payload: JSON.stringify({ tz: 'Asia/Dhaka', text: `${tag} ${i}` }),
        urgent: true,
        sendAfter: at,
      })),
    )
    .execute();
}

function timesSent() {
  const counts = new Map<string, number>();
  for (const m of fake.messages) counts.set(m.body, (counts.get(m.body) ?? 0) + 1);
  return counts;
}

for (const backend of await databaseBackends()) {
  describe(`outbox lease against a slow provider [${backend}]`, () => {
    test('a claim whose lease runs short stops sending and gives the rest back; nothing goes out twice', async (t) => {
      fake.reset();
      const clock = new ManualClock(START);
      const { app } = await buildTestApp(t, { backend, clock, env: { NOTIFY_CRON: 'false' } });
      const leaseEnd = clock.now().getTime() + LEASE_MS;
      const lastStart = leaseEnd - TIMEOUT_MS - LEASE_MARGIN_MS;
      await enqueue(app.db, 'slow', BATCH, clock.now());

      const secondLog = collectingLog();
      const second = worker(app.db, clock, twilio(SECOND_FROM), secondLog);
      // The second instance drains as soon as the first one's lease has run out, as its cron tick would.
      let secondDrained = false;
      const firstLog = collectingLog();
      const slow = new SlowProvider(twilio(FAKE_FROM), clock, ANSWER_MS, async () => {
        if (secondDrained || clock.now().getTime() <= leaseEnd) return;
        secondDrained = true;
        await second.drain();
      });
      const first = worker(app.db, clock, slow, firstLog);

      const result = await first.drain();
      assert.equal(result.claimed, BATCH);
      const late = slow.starts.filter((at) => at > lastStart).map((at) => (at - leaseEnd) / 1000);
      assert.deepEqual(late, [], `sends started with less than ${TIMEOUT_MS + LEASE_MARGIN_MS} ms of lease`);
      assert.ok(result.released > 0, 'the rest of the claim was given back');
      assert.equal(result.sent + result.released, BATCH);
      assert.equal(slow.starts.length, result.sent);
      assert.ok(clock.now().getTime() < leaseEnd, 'the drain ended inside its lease');
      const back = await app.db
        .selectFrom('notificationOutbox')
        .select(['status', 'attempts', 'leaseUntil'])
        .where('status', '!=', 'sent')
        .execute();
      assert.equal(back.length, result.released);
      assert.ok(
        back.every((r) => r.status === 'pending' && r.attempts === 0 && r.leaseUntil === null),
        'released rows are pending again, without an attempt spent',
      );
      assert.ok(firstLog.lines.some((l) => /ran short of lease/.test(l)));

      // Given back, they need not wait for the lease: the second instance takes them at once.
      const taken = await second.drain();
      assert.equal(taken.sent, result.released);
      await second.drainAll();
      clock.advance(LEASE_MS);
      await Promise.all([first.drainAll(), second.drainAll()]);

      const counts = timesSent();
      for (let i = 0; i < BATCH; i++) assert.equal(counts.get(`slow ${i}`), 1, `slow ${i} sent once`);
      assert.equal(fake.messages.length, BATCH);
      const rows = await app.db.selectFrom('notificationOutbox').select(['status', 'attempts']).execute();
      assert.ok(rows.every((r) => r.status === 'sent' && r.attempts === 1));
      assert.deepEqual(
        [...firstLog.lines, ...secondLog.lines].filter((l) => /lease was lost/.test(l)),
        [],
        'no settle found its lease taken',
      );
    });

    test('a send that outlives its lease is settled with a warning, not silently', async (t) => {
      fake.reset();
      const clock = new ManualClock(START);
      const { app } = await buildTestApp(t, { backend, clock, env: { NOTIFY_CRON: 'false' } });
      await enqueue(app.db, 'stuck', 1, clock.now());
      const secondLog = collectingLog();
      const second = worker(app.db, clock, twilio(SECOND_FROM), secondLog);
      // A provider that ignores its timeout: the answer comes after the lease, by when another instance has
      // claimed the row and sent it (the at-least-once window the lease check cannot close).
      const stuck = new SlowProvider(twilio(FAKE_FROM), clock, LEASE_MS + 1000, async () => {
        await second.drain();
      });
      const firstLog = collectingLog();
      const first = worker(app.db, clock, stuck, firstLog);
      const result = await first.drain();
      assert.equal(result.sent, 1, 'the provider accepted it');
      assert.deepEqual(
        fake.messages.map((m) => m.from),
        [FAKE_FROM, SECOND_FROM],
      );
      assert.equal(firstLog.lines.filter((l) => /lease was lost/.test(l)).length, 1);
      const row = await app.db
        .selectFrom('notificationOutbox')
        .select(['status', 'attempts', 'providerId'])
        .executeTakeFirstOrThrow();
      assert.equal(row.status, 'sent');
      assert.equal(row.attempts, 2);
      assert.equal(row.providerId, fake.messages[1].sid, "the second instance's send is the one recorded");
    });
  });
}
