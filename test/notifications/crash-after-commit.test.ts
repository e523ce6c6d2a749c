// A server process SIGKILLed right after a call-next commits (issue 13): the your-turn message of the patient
// called and the turn-near messages of those now within TURN_NEAR_POSITION of the front are in the outbox,
// because they are written in the change's own transaction, not after it. Real Postgres: the database has
// to outlive the process.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TURN_NEAR_POSITION } from '../../src/modules/day/day.rules.js';
import { buildTestApp } from '../helpers/app.js';
import { skipWithout } from '../helpers/services.js';
import { queueFixture } from '../queue/ops.fixtures.js';
import { type ServerProcess, startServer } from './server-process.js';

const ENTRY = 'test/notifications/crash-after-commit.server.ts';
const PATIENTS = 7;

async function post(server: ServerProcess, path: string, auth: { authorization: string }) {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: auth });
}

describe('a process killed right after a call-next commits [postgres]', {
  skip: await skipWithout('postgres'),
}, () => {
  test('loses no your-turn or turn-near message', { timeout: 300_000 }, async (t) => {
    // The fixture is written through an in-process app on the same database; its own cron stays off so the
    // outbox is exactly what the child's transactions wrote.
    const { app, databaseUrl } = await buildTestApp(t, {
      backend: 'postgres',
      env: { NOTIFY_CRON: 'false' },
    });
    assert.ok(databaseUrl);
    const f = await queueFixture(app, { count: PATIENTS });
    const servers: ServerProcess[] = [];
    t.after(() => Promise.all(servers.map((s) => s.stop())));
    const env = { DATABASE_URL: databaseUrl, NOTIFY_CRON: 'false', PUBLIC_URL: 'https://care.example' };

    const child = await startServer({ ...env, CRASH_AFTER_CALL: '2' }, ENTRY);
    servers.push(child);
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.child.once('exit', (_code, signal) => resolve(signal)),
    );
    // Everyone checked in, so nobody is passed over whatever the time of day: the line is 1, 2, 3, …
    for (const p of f.patients) {
      const res = await post(
        child,
        `/v1/queues/${f.queueId}/entries/${p.appointmentId}/check-in`,
        f.staff.auth,
      );
      assert.equal(res.status, 200, await res.text());
    }
    const first = await post(child, `/v1/queues/${f.queueId}/call-next`, f.staff.auth);
    const firstBody = await first.text();
    assert.equal(first.status, 200, firstBody);
    assert.equal(JSON.parse(firstBody).serial, 1);

    // The second call-next completes serial 1, calls serial 2 and brings serial 6 within reach of the front;
    // the process dies once that transaction commits, before it answers.
    const second = await post(child, `/v1/queues/${f.queueId}/call-next`, f.staff.auth).then(
      (res) => `answered ${res.status}`,
      () => 'no answer',
    );
    assert.equal(await exited, 'SIGKILL', `the child killed itself (${second}); stderr: ${child.stderr()}`);
    assert.equal(second, 'no answer', 'the process died before answering');

    const outbox = await app.db
      .selectFrom('notificationOutbox')
      .select(['kind', 'appointmentId', 'dedupeKey'])
      .where(
        'appointmentId',
        'in',
        f.patients.map((p) => p.appointmentId),
      )
      .execute();
    const kindsOf = (serial: number) =>
      new Set(
        outbox.filter((r) => r.appointmentId === f.patients[serial - 1].appointmentId).map((r) => r.kind),
      );
    assert.ok(kindsOf(2).has('your_turn'), 'your_turn of the patient called by the killed transaction');
    // Now waiting: 3, 4, 5, 6, 7 — positions 0..3 are serials 3..6.
    for (let serial = 3; serial <= 3 + TURN_NEAR_POSITION; serial++)
      assert.ok(
        kindsOf(serial).has('turn_near'),
        `turn_near of serial ${serial} (within ${TURN_NEAR_POSITION})`,
      );
    assert.ok(!kindsOf(7).has('turn_near'), 'serial 7 is not near yet');
    assert.ok(kindsOf(1).has('feedback_request'), 'the completed visit asks for feedback');
    const statuses = await app.db
      .selectFrom('appointments')
      .select(['serial', 'status'])
      .where('queueId', '=', f.queueId)
      .orderBy('serial')
      .execute();
    assert.deepEqual(
      statuses.map((r) => [r.serial, r.status]),
      f.patients.map((p) => [
        p.serial,
        p.serial === 1 ? 'completed' : p.serial === 2 ? 'called' : 'checked_in',
      ]),
      'the change committed',
    );

    const yourTurn2 = outbox.filter(
      (r) => r.kind === 'your_turn' && r.appointmentId === f.patients[1].appointmentId,
    ).length;

    // The process comes back: the rows are still there, once each, and the queue shows serial 2 being served.
    const again = await startServer(env);
    servers.push(again);
    const snap = await (await fetch(`${again.url}/v1/queues/${f.queueId}`)).json();
    assert.equal(snap.nowServing, 2);
    const after = await app.db
      .selectFrom('notificationOutbox')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('kind', '=', 'your_turn')
      .where('appointmentId', '=', f.patients[1].appointmentId)
      .executeTakeFirstOrThrow();
    assert.equal(Number(after.n), yourTurn2, 'a restart neither loses nor repeats the your-turn message');
    t.diagnostic(`outbox rows of the day: ${outbox.length}`);
  });
});
