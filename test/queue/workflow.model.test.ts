// Model-based test of the queue workflow over HTTP (issue 12): random sequences of call-next (with a random
// `previous`), complete, skip, recall, no-show, check-in and calling out of order, against a small model of
// the appointments' statuses and the waiting line's order. After every step the answer, Postgres, the
// snapshot (staff and guest), the queue list and every entry's /track must agree with the model and with
// each other on who is being served.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { FastifyInstance } from 'fastify';
import { DateTime } from 'luxon';
import { ManualClock } from '../../src/clock.js';
import { hashToken, newOpaqueToken } from '../../src/lib/tokens.js';
import { PASS_OVER_GRACE_MINUTES } from '../../src/modules/day/day.rules.js';
import { REASON_CODES } from '../../src/modules/queue/queue.schema.js';
import { buildTestApp } from '../helpers/app.js';
import { skipWithout } from '../helpers/services.js';
import { makeUser, type TestUser } from '../helpers/users.js';
import { type QueueFixture, queueFixture, ZONE } from './ops.fixtures.js';

const NOW = '2026-03-10T04:00:00Z'; // 10:00 in Dhaka, inside the fixture's 00:00–23:00 session
const PATIENTS = 8;
const RUNS = 25;
/** The model's clock moves this much after each step, so waiting patients become late during a run. */
const STEP_MS = 60_000;

type Status = 'booked' | 'checked_in' | 'called' | 'completed' | 'skipped' | 'no_show';
const WAITING: readonly Status[] = ['booked', 'checked_in'];

interface Entry {
  serial: number;
  appointmentId: string;
  token: string;
  status: Status;
  key: number;
  estimatedAt: number;
}

interface Model {
  version: number;
  entries: Entry[];
}

type Previous = 'complete' | 'skip' | 'no-show' | undefined;
type Reason = (typeof REASON_CODES)[number];
/** An entry by index, or `PATIENTS` for "the one being served now" (else the first). */
type Target = number;
type Action =
  | { t: 'call-next'; previous: Previous }
  | { t: 'complete' | 'skip' | 'no-show' | 'check-in'; target: Target }
  | { t: 'recall'; target: Target; reason: Reason }
  | { t: 'call'; target: Target; reason: Reason; previous: Previous };

const previousArb = fc.constantFrom<Previous>(undefined, 'complete', 'skip', 'no-show');
const reasonArb = fc.constantFrom(...REASON_CODES);
const targetArb = fc.integer({ min: 0, max: PATIENTS });
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: previousArb.map((previous) => ({ t: 'call-next' as const, previous })) },
  ...(['complete', 'skip', 'no-show', 'check-in'] as const).map((t) => ({
    weight: 2,
    arbitrary: targetArb.map((target) => ({ t, target })),
  })),
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('recall' as const), target: targetArb, reason: reasonArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('call' as const),
      target: targetArb,
      reason: reasonArb,
      previous: previousArb,
    }),
  },
);
/** Per patient: minutes from the start time of the run to their scheduled time, and checked in at the start. */
const patientArb = fc.record({ offsetMinutes: fc.integer({ min: -30, max: 20 }), checkedIn: fc.boolean() });
interface Scenario {
  patients: { offsetMinutes: number; checkedIn: boolean }[];
  actions: Action[];
}
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  patients: fc.array(patientArb, { minLength: PATIENTS, maxLength: PATIENTS }),
  actions: fc.array(actionArb, { minLength: 20, maxLength: 40 }),
});

// ---- the model ----

function line(m: Model): Entry[] {
  return m.entries
    .filter((e) => WAITING.includes(e.status))
    .sort((a, b) => a.key - b.key || (a.appointmentId < b.appointmentId ? -1 : 1));
}

const current = (m: Model) => m.entries.find((e) => e.status === 'called');

function resolve(m: Model, target: Target): Entry {
  return target === PATIENTS ? (current(m) ?? m.entries[0]) : m.entries[target];
}

/** Ends the visit in progress the way `previous` says; returns how many changes that made (0 or 1). */
function finishCurrent(m: Model, previous: Previous): number {
  const served = current(m);
  if (!served) return 0;
  served.status = previous === 'skip' ? 'skipped' : previous === 'no-show' ? 'no_show' : 'completed';
  return 1;
}

/** The recall key: right after the patient being served, else at the front of the line (recallPositionKey). */
function recallKey(m: Model, target: Entry): number {
  const others = line(m).filter((e) => e !== target);
  const served = current(m);
  const anchor = served
    ? served.key
    : others.length > 0
      ? Math.min(...others.map((e) => e.key)) - 1
      : target.key;
  const after = others.filter((e) => e.key > anchor).map((e) => e.key);
  return after.length === 0 ? anchor + 1 : anchor + (Math.min(...after) - anchor) / 2;
}

interface Expected {
  valid: boolean;
  entry?: Entry;
  status?: string;
  versions?: number;
}

/** Applies `action` to the model at time `now`; says whether the server must accept it and what it answers. */
function step(m: Model, action: Action, now: number): Expected {
  if (action.t === 'call-next') {
    const waiting = line(m);
    if (waiting.length === 0) {
      // Nobody left to call: the visit in progress still ends (the last patient of the day).
      const served = current(m);
      if (!served) return { valid: false };
      finishCurrent(m, action.previous);
      return { valid: true, entry: served, status: served.status, versions: 1 };
    }
    const late = now - PASS_OVER_GRACE_MINUTES * 60_000;
    const callable = (e: Entry) => e.status === 'checked_in' || e.estimatedAt > late;
    const head = waiting.find(callable) ?? waiting[0];
    const versions = finishCurrent(m, action.previous) + 1;
    head.status = 'called';
    return { valid: true, entry: head, status: 'called', versions };
  }
  const entry = resolve(m, action.target);
  const from = entry.status;
  switch (action.t) {
    case 'check-in':
      if (from !== 'booked') return { valid: false, entry };
      entry.status = 'checked_in';
      return { valid: true, entry, status: 'checked_in', versions: 1 };
    case 'complete':
    case 'skip':
      if (from !== 'called') return { valid: false, entry };
      entry.status = action.t === 'complete' ? 'completed' : 'skipped';
      return { valid: true, entry, status: entry.status, versions: 1 };
    case 'no-show':
      if (!['booked', 'checked_in', 'called', 'skipped'].includes(from)) return { valid: false, entry };
      entry.status = 'no_show';
      return { valid: true, entry, status: 'no_show', versions: 1 };
    case 'recall':
      if (from !== 'skipped') return { valid: false, entry };
      entry.key = recallKey(m, entry);
      entry.status = 'checked_in';
      return { valid: true, entry, status: 'checked_in', versions: 1 };
    case 'call': {
      if (!['booked', 'checked_in', 'skipped'].includes(from)) return { valid: false, entry };
      const versions = finishCurrent(m, action.previous) + 1;
      entry.status = 'called';
      return { valid: true, entry, status: 'called', versions };
    }
  }
}

function request(f: Day, m: Model, action: Action): { url: string; body?: object } {
  const base = `/v1/queues/${f.queueId}`;
  if (action.t === 'call-next')
    return { url: `${base}/call-next`, body: action.previous ? { previous: action.previous } : undefined };
  const entry = resolve(m, action.target);
  const url = `${base}/entries/${entry.appointmentId}/${action.t}`;
  if (action.t === 'recall') return { url, body: { reason: action.reason } };
  if (action.t === 'call')
    return {
      url,
      body: { reason: action.reason, ...(action.previous ? { previous: action.previous } : {}) },
    };
  return { url };
}

// ---- the checks after every step ----

let requests = 0;
/**
 * Each GET from an address of its own: a run reads /track hundreds of times a minute, past the route's
 * per-address limit (600/min), which is not what this test is about.
 */
async function get(app: FastifyInstance, url: string, auth?: { authorization: string }) {
  const n = ++requests;
  const remoteAddress = `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  const res = await app.inject({ method: 'GET', url, headers: auth, remoteAddress });
  assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
  return res.json();
}

async function assertAgree(app: FastifyInstance, f: Day, m: Model, where: string) {
  const served = current(m);
  const nowServing = served ? served.serial : null;
  const waiting = line(m);
  const position = (e: Entry) => (WAITING.includes(e.status) ? waiting.indexOf(e) : null);

  const rows = await app.db
    .selectFrom('appointments')
    .select(['id', 'serial', 'status'])
    .where('queueId', '=', f.queueId)
    .orderBy('serial')
    .execute();
  assert.deepEqual(
    rows.map((r) => [r.serial, r.status]),
    m.entries.map((e) => [e.serial, e.status]),
    `${where}: statuses in Postgres`,
  );
  assert.ok(rows.filter((r) => r.status === 'called').length <= 1, `${where}: at most one called`);
  const day = await app.db
    .selectFrom('sessionDays')
    .select(['version', 'nowServing'])
    .where('id', '=', f.queueId)
    .executeTakeFirstOrThrow();
  assert.deepEqual([day.version, day.nowServing], [m.version, nowServing], `${where}: session_days`);

  const snap = await get(app, `/v1/queues/${f.queueId}`, f.staff.auth);
  assert.equal(snap.version, m.version, `${where}: snapshot version`);
  assert.equal(snap.nowServing, nowServing, `${where}: snapshot nowServing`);
  assert.equal(snap.waiting, waiting.length, `${where}: snapshot waiting`);
  const bySerial = (a: { serial: number }, b: { serial: number }) => a.serial - b.serial;
  assert.deepEqual(
    snap.entries
      .map((e: { serial: number; status: string; position: number | null }) => ({
        serial: e.serial,
        status: e.status,
        position: e.position,
      }))
      .sort(bySerial),
    m.entries
      .filter((e) => e.status !== 'completed' && e.status !== 'no_show')
      .map((e) => ({ serial: e.serial, status: e.status, position: position(e) })),
    `${where}: snapshot entries (positions 0..n-1 over the waiting line, in the model's order)`,
  );
  const positions = snap.entries
    .map((e: { position: number | null }) => e.position)
    .filter((p: number | null) => p !== null)
    .sort((a: number, b: number) => a - b);
  assert.deepEqual(
    positions,
    waiting.map((_, i) => i),
    `${where}: positions are 0..n-1`,
  );

  const guest = await get(app, `/v1/queues/${f.queueId}`);
  assert.deepEqual([guest.version, guest.nowServing], [m.version, nowServing], `${where}: guest snapshot`);

  const list = await get(
    app,
    `/v1/queues?hospitalId=${f.hospitalId}&doctorId=${f.doctorId}&date=${f.date}`,
    f.staff.auth,
  );
  const summary = list.items.find((q: { id: string }) => q.id === f.queueId);
  assert.deepEqual([summary?.version, summary?.nowServing], [m.version, nowServing], `${where}: queue list`);

  for (const e of m.entries) {
    const view = await get(app, `/v1/track/${e.token}`);
    assert.deepEqual(
      { status: view.status, nowServing: view.nowServing, position: view.position, version: view.version },
      { status: e.status, nowServing, position: position(e), version: m.version },
      `${where}: /track of serial ${e.serial}`,
    );
  }
}

// ---- one run ----

/** The hospital, its staff and doctor, and one account whose dependents are each run's patients. */
interface Clinic {
  base: QueueFixture;
  guardian: TestUser;
}

interface Day {
  queueId: string;
  hospitalId: string;
  doctorId: string;
  date: string;
  staff: QueueFixture['staff'];
}

/**
 * A fresh session day of the clinic's doctor today, with PATIENTS booked dependents of one account: written
 * straight to the database as ops.fixtures.ts does, without an account per patient (each run needs new ones).
 */
async function freshDay(app: FastifyInstance, clinic: Clinic, scenario: Scenario, m: Model): Promise<Day> {
  const { base } = clinic;
  // A doctor of its own per run: the queue list is then filtered to this day alone.
  const doctorId = (await makeUser(app, 'doctor', { name: 'Dr. Model' })).doctorId as string;
  const start = DateTime.fromJSDate(app.clock.now(), { zone: ZONE }).startOf('day');
  const session = await app.db
    .insertInto('sessions')
    .values({
      doctorId: doctorId,
      hospitalId: base.hospitalId,
      weekday: start.weekday,
      startTime: '00:00',
      endTime: '23:00',
      slotMinutes: 10,
      capacity: 100,
      room: '204',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const day = await app.db
    .insertInto('sessionDays')
    .values({
      sessionId: session.id,
      doctorId: doctorId,
      hospitalId: base.hospitalId,
      date: base.date,
      startsAt: start.toJSDate(),
      endsAt: start.plus({ hours: 23 }).toJSDate(),
      capacity: 100,
      slotMinutes: 10,
      nextSerial: PATIENTS + 1,
      bookedCount: PATIENTS,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  const now = app.clock.now().getTime();
  for (const [i, p] of scenario.patients.entries()) {
    const serial = i + 1;
    const profile = await app.db
      .insertInto('patientProfiles')
      .values({ accountId: clinic.guardian.id, name: `Dependent ${serial}`, relation: 'child' })
      .returning('id')
      .executeTakeFirstOrThrow();
    const token = newOpaqueToken();
    const estimatedAt = now + p.offsetMinutes * 60_000;
    const appointment = await app.db
      .insertInto('appointments')
      .values({
        queueId: day.id,
        doctorId: doctorId,
        date: base.date,
        profileId: profile.id,
        bookedBy: clinic.guardian.id,
        serial,
        positionKey: serial,
        estimatedAt: new Date(estimatedAt),
        trackingTokenHash: hashToken(token),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    m.entries.push({
      serial,
      appointmentId: appointment.id,
      token,
      status: 'booked',
      key: serial,
      estimatedAt,
    });
  }
  return { queueId: day.id, hospitalId: base.hospitalId, doctorId, date: base.date, staff: base.staff };
}

async function runScenario(app: FastifyInstance, clock: ManualClock, clinic: Clinic, scenario: Scenario) {
  clock.set(new Date(NOW));
  const m: Model = { version: 0, entries: [] };
  const f = await freshDay(app, clinic, scenario, m);
  for (const [i, p] of scenario.patients.entries()) {
    if (!p.checkedIn) continue;
    const res = await app.inject({
      method: 'POST',
      url: `/v1/queues/${f.queueId}/entries/${m.entries[i].appointmentId}/check-in`,
      headers: f.staff.auth,
    });
    assert.equal(res.statusCode, 200, res.body);
    m.entries[i].status = 'checked_in';
    m.version++;
  }
  await assertAgree(app, f, m, 'after set-up');
  const log: string[] = [];
  for (const [i, action] of scenario.actions.entries()) {
    const req = request(f, m, action);
    const before = m.version;
    const expected = step(m, action, clock.now().getTime());
    const where = `step #${i} ${JSON.stringify(action)} on serial ${expected.entry?.serial ?? '-'} after [${log.join(', ')}]`;
    log.push(`${action.t}${expected.entry ? `:${expected.entry.serial}` : ''}${expected.valid ? '' : '✗'}`);
    const res = await app.inject({ method: 'POST', url: req.url, headers: f.staff.auth, payload: req.body });
    if (expected.valid) {
      assert.equal(res.statusCode, 200, `${where}: ${res.body}`);
      const body = res.json();
      m.version = before + (expected.versions ?? 1);
      assert.deepEqual(
        { serial: body.serial, status: body.status, version: body.version },
        { serial: expected.entry?.serial, status: expected.status, version: m.version },
        `${where}: answer`,
      );
    } else {
      assert.equal(res.statusCode, 409, `${where}: refused: ${res.body}`);
      assert.equal(res.json().code, 'INVALID_TRANSITION', `${where}: ${res.body}`);
    }
    await assertAgree(app, f, m, where);
    clock.advance(STEP_MS);
  }
}

const SETUPS = [
  { name: 'pglite + memory store', backend: 'pglite' as const, redis: false, skip: false as const },
  {
    name: 'postgres + redis store',
    backend: 'postgres' as const,
    redis: true,
    skip: await skipWithout('postgres', 'redis'),
  },
];

for (const setup of SETUPS) {
  describe(`queue workflow against a model (${setup.name})`, { skip: setup.skip }, () => {
    test('every screen agrees on who is served after any sequence of queue actions', {
      timeout: 900_000,
    }, async (t) => {
      const clock = new ManualClock(NOW);
      const { app } = await buildTestApp(t, { backend: setup.backend, redis: setup.redis, clock });
      const base = await queueFixture(app, { count: 0 });
      const clinic = { base, guardian: await makeUser(app, 'patient', { name: 'Guardian' }) };
      const started = Date.now();
      let runs = 0;
      let steps = 0;
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (scenario) => {
          runs++;
          steps += scenario.actions.length;
          await runScenario(app, clock, clinic, scenario);
        }),
        {
          numRuns: Number(process.env.FC_RUNS ?? RUNS),
          includeErrorInReport: true,
          // Replay a reported failure without shrinking it again: FC_SEED and FC_PATH from its report.
          ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
          ...(process.env.FC_PATH ? { path: process.env.FC_PATH, endOnFailure: true } : {}),
        },
      );
      t.diagnostic(`${runs} runs, ${steps} steps in ${Date.now() - started} ms`);
    });
  });
}
