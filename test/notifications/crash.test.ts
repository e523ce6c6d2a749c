// A server process SIGKILLed in the middle of a send, and a second process taking over its outbox: nothing is
// lost, nothing stays 'sending' past its lease, and only the messages Twilio had accepted without the answer
// reaching the dead process go out twice (the at-least-once window of the README's notifications note).
// Real Postgres only: two processes share the outbox, and PGlite is an in-process database one process owns.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { openDatabase } from '../../src/db/connect.js';
import { createPostgresDatabase } from '../helpers/database.js';
import { FAKE_FROM, FakeTwilio, twilioEnv } from '../helpers/fake-twilio.js';
import { skipWithout } from '../helpers/services.js';
import { waitFor } from '../helpers/wait.js';
import { bdPhone } from './fixtures.js';
import { type ServerProcess, startServer } from './server-process.js';

const MESSAGES = 250;
/** Answered normally before the gate closes: sent and settled before the kill. */
const PASSED = 30;
/** The worker's default claim size and sends in flight (notifications.worker.ts). */
const BATCH = 100;
const CONCURRENCY = 8;
/** After the lease, one drain tick and a send; exceeding this means a row is stuck. */
const TAKEOVER_SLACK_MS = 20_000;
const STEP_LIMIT_MS = 60_000;
const SECOND_SENDER = '+15005550007';

/**
 * Sits between the app and the fake Twilio: forwards every request (so the fake records the message, as
 * Twilio would have accepted it) but, once closed, holds the answer back, so the send stays in flight.
 */
class ResponseGate {
  forwarded = 0;
  open = true;
  readonly held: { body: string; res: ServerResponse }[] = [];
  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly url: string,
  ) {}

  static async start(target: string, passFirst: number): Promise<ResponseGate> {
    const gate: { current?: ResponseGate } = {};
    const server = createServer((req, res) => {
      gate.current?.forward(target, passFirst, req, res).catch(() => res.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    gate.current = new ResponseGate(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return gate.current;
  }

  private async forward(target: string, passFirst: number, req: IncomingMessage, res: ServerResponse) {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = Buffer.concat(chunks).toString();
    const answer = await fetch(new URL(req.url ?? '/', target), {
      method: req.method,
      headers: {
        authorization: req.headers.authorization ?? '',
        'content-type': req.headers['content-type'] ?? '',
      },
      body: req.method === 'POST' ? form : undefined,
    });
    const text = await answer.text();
    this.forwarded++;
    if (this.forwarded > passFirst && !this.open) {
      this.held.push({ body: new URLSearchParams(form).get('Body') ?? '', res });
      return;
    }
    if (this.forwarded === passFirst) this.open = false;
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(text);
  }

  async stop(): Promise<void> {
    for (const { res } of this.held) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('a sender killed mid-send [postgres]', { skip: await skipWithout('postgres') }, () => {
  test('a second process delivers everything; only the sends in flight at the kill can repeat', {
    timeout: 300_000,
  }, async (t) => {
    const fake = await FakeTwilio.start();
    const gate = await ResponseGate.start(fake.url, PASSED);
    const database = await createPostgresDatabase();
    const { db } = await openDatabase({ url: database.url, poolSize: 2 });
    const servers: ServerProcess[] = [];
    t.after(async () => {
      await Promise.all(servers.map((s) => s.stop()));
      await gate.stop();
      await fake.stop();
      await db.destroy();
      await database.drop();
    });

    const body = (i: number) => `message ${i}`;
    const now = new Date();
    await db
      .insertInto('notificationOutbox')
      .values(
        Array.from({ length: MESSAGES }, (_, i) => ({
          dedupeKey: `notice:crash:${i}`,
          kind: 'notice',
          channel: 'sms' as const,
          recipient: bdPhone(i),
          payload: JSON.stringify({ tz: 'Asia/Dhaka', text: body(i) }),
          urgent: true,
          sendAfter: now,
        })),
      )
      .execute();
    const env = (from: string) => ({
      ...twilioEnv(fake),
      TWILIO_API_URL: gate.url,
      TWILIO_FROM: from,
      DATABASE_URL: database.url,
      PUBLIC_URL: 'https://care.example',
      NOTIFY_CRON: 'true',
      OUTBOX_DRAIN_CRON: '* * * * * *',
    });
    const counts = async () => {
      const rows = await db
        .selectFrom('notificationOutbox')
        .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
        .groupBy('status')
        .execute();
      return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
    };

    const first = await startServer(env(FAKE_FROM));
    servers.push(first);
    // Every worker slot is then waiting on an answer Twilio will never give: the sends in flight.
    await waitFor('sends in flight', () => gate.held.length === CONCURRENCY, STEP_LIMIT_MS, 100);
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    gate.open = true;
    const inFlight = new Set(gate.held.map((h) => h.body));
    assert.equal(inFlight.size, CONCURRENCY);
    assert.equal(fake.messages.length, PASSED + CONCURRENCY, 'Twilio accepted the in-flight sends');
    assert.deepEqual(
      await counts(),
      { sent: PASSED, sending: BATCH - PASSED, pending: MESSAGES - BATCH },
      'the dead sender holds the rest of its claim',
    );
    const claimed = await db
      .selectFrom('notificationOutbox')
      .select(['payload', 'leaseUntil'])
      .where('status', '=', 'sending')
      .execute();
    const lease = Math.max(...claimed.map((r) => new Date(r.leaseUntil as Date).getTime()));
    const claimedBodies = new Set(claimed.map((r) => (r.payload as { text: string }).text));

    const second = await startServer(env(SECOND_SENDER));
    servers.push(second);
    await waitFor(
      'every message to be settled',
      async () => {
        const c = await counts();
        return !c.pending && !c.sending;
      },
      Math.max(STEP_LIMIT_MS, lease - Date.now() + TAKEOVER_SLACK_MS),
      100,
    );
    const takenOver = fake.messages.filter((m) => m.from === SECOND_SENDER && claimedBodies.has(m.body));
    const takeoverMs = Math.max(...takenOver.map((m) => m.at)) - lease;
    assert.ok(
      takeoverMs <= TAKEOVER_SLACK_MS,
      `nothing stayed in sending beyond its lease (${takeoverMs} ms)`,
    );
    // Two more ticks: nothing settled goes out again.
    await new Promise((resolve) => setTimeout(resolve, 2500));

    const perBody = new Map<string, number>();
    for (const m of fake.messages) perBody.set(m.body, (perBody.get(m.body) ?? 0) + 1);
    const repeated = [...perBody].filter(([, n]) => n > 1).map(([b]) => b);
    for (let i = 0; i < MESSAGES; i++) {
      const n = perBody.get(body(i));
      if (inFlight.has(body(i))) assert.ok(n === 1 || n === 2, `${body(i)} (in flight) sent ${n} times`);
      else assert.equal(n, 1, `${body(i)} was not in flight: exactly once`);
    }
    assert.ok(repeated.length <= inFlight.size, 'duplicates bounded by the sends in flight');
    assert.equal(fake.messages.length, MESSAGES + repeated.length, 'nothing else was sent');
    assert.deepEqual(
      takenOver.filter((m) => m.at < lease),
      [],
      "the dead sender's claim was left alone until its lease ran out",
    );
    assert.deepEqual(await counts(), { sent: MESSAGES });
    const attempts = await db.selectFrom('notificationOutbox').select(['payload', 'attempts']).execute();
    for (const row of attempts) {
      const text = (row.payload as { text: string }).text;
      assert.equal(row.attempts, claimedBodies.has(text) ? 2 : 1, `${text}: one attempt per claim`);
    }
    t.diagnostic(
      `in flight at the kill: ${inFlight.size}; claimed but unsent: ${claimedBodies.size - inFlight.size}; ` +
        `sent twice: ${repeated.length}; last takeover ${takeoverMs} ms after the lease`,
    );
    assert.equal(await second.stop(), 0, 'the second process stops cleanly');
  });
});
