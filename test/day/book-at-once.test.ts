// Booking by one statement (day_book_place outside a transaction) against the full path: the same answer,
// the same queue event and the same confirmation rows, with the serial and the estimate filled in by the
// statement; a transactional handler that cannot draft its writes sends bookings to the full path, where it
// runs; a session edited between the read and the statement, and a slot with a reminder due at once, go
// there too.
import assert from 'node:assert/strict';
import { describe, type TestContext, test } from 'node:test';
import { sql } from 'kysely';
import { ManualClock } from '../../src/clock.js';
import { makeDoctor, makeHospital, makePatients, makeSession } from '../appointments/fixtures.js';
import { buildTestApp } from '../helpers/app.js';
import { databaseBackends } from '../helpers/services.js';

// Monday 2025-06-02, 09:00 in Dhaka (UTC+6). Tuesday's session runs 09:00–12:00 local, 10-minute slots.
const MONDAY_9AM = '2025-06-02T03:00:00Z';
const TUESDAY = '2025-06-03';

async function world(t: TestContext, backend: 'postgres' | 'pglite', clockAt = MONDAY_9AM) {
  const clock = new ManualClock(clockAt);
  const { app } = await buildTestApp(t, { backend, clock });
  const hospitalId = await makeHospital(app);
  const doctor = await makeDoctor(app);
  const sessionId = await makeSession(app, { doctorId: doctor.doctorId, hospitalId, weekday: 2 });
  const patients = await makePatients(app, 4);
  const book = (i: number, date = TUESDAY) =>
    app.inject({
      method: 'POST',
      url: '/v1/appointments',
      headers: patients[i].auth,
      payload: { sessionId, date },
    });
  return { app, clock, sessionId, patients, book };
}

/** Counts the runs of a transactional handler of `appointment.booked`, with or without a drafter. */
function countingHandler(app: Awaited<ReturnType<typeof world>>['app'], drafts: boolean) {
  const seen = { ran: 0, drafted: 0 };
  app.events.inTransaction(
    'appointment.booked',
    async () => {
      seen.ran++;
    },
    drafts
      ? {
          draftsBooking: async () => {
            seen.drafted++;
            return { messages: [], undraftedSlots: [] };
          },
        }
      : {},
  );
  return seen;
}

async function confirmations(app: Awaited<ReturnType<typeof world>>['app'], appointmentId: string) {
  const rows = await app.db
    .selectFrom('notificationOutbox')
    .select(['dedupeKey', 'kind', 'channel', 'recipient', 'userId', 'hospitalId', 'language', 'payload'])
    .select(['urgent', 'sendAfter'])
    .where('appointmentId', '=', appointmentId)
    .orderBy('dedupeKey')
    .execute();
  return rows.map((r) => ({ ...r, payload: r.payload as Record<string, unknown> }));
}

for (const backend of await databaseBackends()) {
  describe(`booking by one statement [${backend}]`, () => {
    test('writes what the full path writes: answer, event, confirmation rows', async (t) => {
      const w = await world(t, backend);
      // The day's row exists after its first booking; from then on a booking can be one statement.
      assert.equal((await w.book(0)).statusCode, 201);
      const fast = countingHandler(w.app, true);
      const one = await w.book(1);
      assert.equal(one.statusCode, 201, one.body);
      assert.deepEqual(fast, { ran: 0, drafted: 1 }, 'booked by the statement: drafted, not run');
      const full = countingHandler(w.app, false);
      const two = await w.book(2);
      assert.equal(two.statusCode, 201, two.body);
      assert.deepEqual(
        full,
        { ran: 1, drafted: 0 },
        'an undrafted handler sends the booking to the full path',
      );
      assert.equal(fast.ran, 1, 'on the full path every handler runs in the transaction');

      const [a, b] = [one.json(), two.json()];
      assert.deepEqual([a.serial, b.serial], [2, 3]);
      assert.deepEqual(
        [a.estimatedAt, b.estimatedAt],
        ['2025-06-03T09:10:00+06:00', '2025-06-03T09:20:00+06:00'],
      );
      assert.deepEqual(Object.keys(a).sort(), Object.keys(b).sort(), 'the same answer shape');

      const events = await w.app.db
        .selectFrom('queueEvents')
        .select(['type', 'version', 'serial', 'appointmentId', 'actorId'])
        .where('queueId', '=', a.queueId)
        .orderBy('version')
        .execute();
      assert.deepEqual(
        events.map((e) => [e.type, e.version, e.serial]),
        [
          ['booked', 1, 1],
          ['booked', 2, 2],
          ['booked', 3, 3],
        ],
      );
      assert.equal(events[1].appointmentId, a.id);
      assert.equal(events[1].actorId, w.patients[1].id);

      const [fastRows, fullRows] = [await confirmations(w.app, a.id), await confirmations(w.app, b.id)];
      assert.ok(fastRows.length > 0, 'the statement wrote the confirmation');
      const shape = (rows: typeof fastRows, id: string, user: string) =>
        rows.map((r) => ({
          ...r,
          dedupeKey: r.dedupeKey.replace(id, 'ID'),
          recipient: r.recipient.replace(/\d+/g, 'N').replace(/bulk-[a-z0-9-]+@/, 'X@'),
          userId: r.userId === user,
          payload: { ...r.payload, serial: 'S', estimatedAt: 'E', trackingUrl: 'U' },
        }));
      assert.deepEqual(
        shape(fastRows, a.id, w.patients[1].id),
        shape(fullRows, b.id, w.patients[2].id),
        'the same rows but for the patient, the serial, the estimate and the link',
      );
      assert.equal(fastRows[0].payload.serial, 2);
      assert.equal(new Date(fastRows[0].payload.estimatedAt as string).getTime(), Date.parse(a.estimatedAt));
      assert.equal(fullRows[0].payload.serial, 3);
      assert.match(fastRows[0].payload.trackingUrl as string, new RegExp(`/t/${a.trackingToken}$`));

      // The projection took both (after-commit handlers ran for the statement's booking too).
      const snap = await w.app.inject({ method: 'GET', url: `/v1/queues/${a.queueId}` });
      assert.equal(snap.json().version, 3);
      assert.equal(snap.json().waiting, 3);
    });

    test('a session edited after the read is booked on the full path under its new rules', async (t) => {
      const w = await world(t, backend);
      assert.equal((await w.book(0)).statusCode, 201);
      const fast = countingHandler(w.app, true);
      // Between the booking's read and its statement, the fee changes: the statement refuses as stale.
      let edited = false;
      w.app.events.inTransaction('queue.changed', async () => {}, {
        draftsBooking: async (db) => {
          if (!edited) {
            edited = true;
            await sql`update sessions set fee = 650 where id = ${w.sessionId}::uuid`.execute(db);
          }
          return { messages: [], undraftedSlots: [] };
        },
      });
      const res = await w.book(1);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(fast.ran, 1, 'the full path ran the handlers');
      assert.equal(Number(res.json().fee), 650, 'the new fee, read under the locks');
      const count = await w.app.db
        .selectFrom('appointments')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(count.n), 2, 'booked once');
    });

    test('a slot whose reminder falls due at once takes the full path and gets it', async (t) => {
      // Monday 09:05 local: serial 1 on Tuesday is 09:00, so its 24 h reminder was due 5 minutes ago; serial 2
      // at 09:10 has its 24 h reminder due in 5 minutes, inside the scanner's window.
      const w = await world(t, backend, '2025-06-02T03:05:00Z');
      assert.equal((await w.book(0)).statusCode, 201);
      const fast = countingHandler(w.app, true);
      const res = await w.book(1);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.json().serial, 2);
      assert.deepEqual(fast, { ran: 1, drafted: 1 }, 'drafted, then booked on the full path');
      const kinds = (await confirmations(w.app, res.json().id)).map((r) => r.kind);
      assert.ok(kinds.includes('reminder'), `the imminent reminder was written: ${kinds}`);
      assert.ok(kinds.includes('confirmation'));
    });
  });
}
