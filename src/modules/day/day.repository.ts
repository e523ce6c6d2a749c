// The session day's own rows — session_days, the status of its appointments, queue_events — and nothing else:
// the SQL behind the day ledger (day.ledger.ts), which is the only caller. Locks, the one serial picker, the
// booking statement, the event log.
import { type Insertable, type RawBuilder, sql, type Updateable } from 'kysely';
import type { Executor } from '../../db/database.js';
import { PREPARED } from '../../db/prepared-pool.js';
import type { DraftedMessage, QueueEventType } from '../../events.js';
import type { AppointmentsTable } from '../appointments/appointments.table.js';
import type { SessionDaysTable } from '../queue/queue.table.js';
import { localInstant } from '../schedule/schedule.time.js';
import { type BookingSession, pickSession, SESSION_RULE_COLUMNS } from './day.queries.js';
import { WAITING } from './day.rules.js';

export type { BookingSession } from './day.queries.js';

/** A day's row, unlocked. */
export function findDay(db: Executor, id: string) {
  return db.selectFrom('sessionDays').selectAll().where('id', '=', id).executeTakeFirst();
}

/** A session's day on a date, unlocked; undefined before its first booking. */
export function findDayOf(db: Executor, sessionId: string, date: string) {
  return db
    .selectFrom('sessionDays')
    .selectAll()
    .where('sessionId', '=', sessionId)
    .where('date', '=', date)
    .executeTakeFirst();
}

/** The day's row locked for the rest of the transaction, with its hospital's zone: every change starts here. */
export function lockDay(trx: Executor, queueId: string) {
  return trx
    .selectFrom('sessionDays as q')
    .innerJoin('hospitals as h', 'h.id', 'q.hospitalId')
    .selectAll('q')
    .select('h.timezone')
    .where('q.id', '=', queueId)
    .forUpdate('q')
    .executeTakeFirst();
}

export type LockedDay = NonNullable<Awaited<ReturnType<typeof lockDay>>>;

/** Locks several days in id order: the one lock order for every change that spans days. */
export async function lockDays(trx: Executor, queueIds: string[]): Promise<Map<string, LockedDay>> {
  const locked = new Map<string, LockedDay>();
  for (const id of [...new Set(queueIds)].sort()) {
    const day = await lockDay(trx, id);
    if (day) locked.set(id, day);
  }
  return locked;
}

export interface DayEventInput {
  queueId: string;
  type: QueueEventType;
  appointmentId?: string | null;
  serial?: number | null;
  actorId?: string | null;
  reason?: string | null;
  data?: unknown;
}

/** Bumps the day's version and appends the matching queue_events row, in one statement; returns the version. */
export async function recordQueueEvent(trx: Executor, e: DayEventInput): Promise<number> {
  const { rows } = await sql<{ version: number }>`${sql.raw(PREPARED)}
    with v as (
      update session_days set version = version + 1, updated_at = now() where id = ${e.queueId}::uuid
      returning version
    )
    insert into queue_events (queue_id, version, type, appointment_id, serial, actor_id, reason, data)
    select ${e.queueId}::uuid, v.version, ${e.type}::text, ${e.appointmentId ?? null}::uuid,
      ${e.serial ?? null}::int, ${e.actorId ?? null}::uuid, ${e.reason ?? null}::text,
      ${e.data === undefined ? null : JSON.stringify(e.data)}::jsonb
    from v
    returning version
  `.execute(trx);
  if (!rows[0]) throw new Error(`session day ${e.queueId} missing while locked`);
  return Number(rows[0].version);
}

/**
 * The next unused serial of day `q` (a table alias): the one serial picker, `day_next_free_serial` (migration
 * 0019), which day_book_place uses too — next_serial when free, else the first gap after it, so serials picked
 * explicitly ahead of next_serial are skipped and a serial is never handed out twice, even after a cancel.
 */
export function nextFreeSerial(q: RawBuilder<unknown>) {
  return sql<number>`day_next_free_serial(${q}.id, ${q}.next_serial)`;
}

/** Takes the next unused serial of a day whose row the caller holds locked. */
export async function takeSerial(trx: Executor, queueId: string): Promise<number> {
  const { rows } = await sql<{ serial: number }>`
    with pick as (select ${nextFreeSerial(sql.raw('q'))} as serial from session_days q where q.id = ${queueId}::uuid)
    update session_days d set next_serial = pick.serial + 1 from pick where d.id = ${queueId}::uuid
    returning pick.serial
  `.execute(trx);
  if (!rows[0]) throw new Error(`session day ${queueId} missing while locked`);
  return Number(rows[0].serial);
}

/** An appointment of the day, locked. */
export function lockAppointment(trx: Executor, queueId: string, appointmentId: string) {
  return trx
    .selectFrom('appointments')
    .selectAll()
    .where('id', '=', appointmentId)
    .where('queueId', '=', queueId)
    .forUpdate()
    .executeTakeFirst();
}

/** Which day an appointment belongs to (read before its day is locked). */
export function appointmentDay(db: Executor, appointmentId: string) {
  return db
    .selectFrom('appointments')
    .select(['queueId', 'doctorId'])
    .where('id', '=', appointmentId)
    .executeTakeFirst();
}

/** Key-share locks on doctors in id order: a schedule change (which locks them for update) waits or runs first. */
export async function keyShareDoctors(trx: Executor, doctorIds: string[]): Promise<void> {
  for (const id of [...new Set(doctorIds)].sort())
    await trx.selectFrom('doctors').select('id').where('id', '=', id).forKeyShare().execute();
}

export function updateAppointment(
  trx: Executor,
  appointmentId: string,
  patch: Updateable<AppointmentsTable>,
) {
  return trx
    .updateTable('appointments')
    .set({ ...patch, updatedAt: sql`now()` })
    .where('id', '=', appointmentId)
    .execute();
}

export function updateDay(trx: Executor, queueId: string, patch: Updateable<SessionDaysTable>) {
  return trx.updateTable('sessionDays').set(patch).where('id', '=', queueId).execute();
}

/** booked_count follows the active booked (not walk-in) appointments of the day. */
export function adjustBookedCount(trx: Executor, queueId: string, delta: number) {
  return trx
    .updateTable('sessionDays')
    .set({ bookedCount: sql`booked_count + ${delta}` })
    .where('id', '=', queueId)
    .execute();
}

/**
 * The waiting line's predicate written as literals, exactly as in the partial index
 * appointments_waiting_line_idx (migrations/0003): with bound parameters a generic plan could not prove
 * the index applies.
 */
const IN_WAITING_LINE = sql<boolean>`status in ('booked', 'confirmed', 'checked_in')`;

/**
 * The head of the waiting line, locked: highest priority first, then the position key, then the id (the
 * projection's tie order). Shaped for appointments_waiting_line_idx (queue_id, priority desc, position_key, id)
 * so call-next reads one index entry however long the line is.
 */
export function firstWaiting(trx: Executor, queueId: string) {
  return firstWaitingQuery(trx, queueId).executeTakeFirst();
}

/** The query of firstWaiting, for EXPLAIN. */
export function firstWaitingQuery(trx: Executor, queueId: string) {
  return trx
    .selectFrom('appointments')
    .selectAll()
    .where('queueId', '=', queueId)
    .where(IN_WAITING_LINE)
    .orderBy('priority', 'desc')
    .orderBy('positionKey', 'asc')
    .orderBy('id', 'asc')
    .limit(1)
    .forUpdate();
}

/** How far into the line call-next looks, in queue order, for a booked patient not yet late. @default 200 */
const CALLABLE_SCAN = 200;

/**
 * Whom call-next calls when the front of the line is absent and late: the first in line who is checked in,
 * or whose time (plus the grace) has not passed yet; an absent patient is passed over and keeps their place.
 * Bounded however many absent patients are ahead: the first checked-in entry in queue order is one index
 * probe (appointments_checked_in_line_idx); the first booked patient not yet late is looked for in queue
 * order among the first CALLABLE_SCAN of the line, and past that by scheduled time
 * (appointments_booked_time_idx). The earlier of the two in queue order is locked and returned.
 */
export async function firstCallable(trx: Executor, queueId: string, lateBefore: Date) {
  const [checkedIn, front] = await Promise.all([
    trx
      .selectFrom('appointments')
      .select(['id', 'priority', 'positionKey'])
      .where('queueId', '=', queueId)
      .where(sql<boolean>`status = 'checked_in'`)
      .orderBy('priority', 'desc')
      .orderBy('positionKey', 'asc')
      .orderBy('id', 'asc')
      .limit(1)
      .executeTakeFirst(),
    trx
      .selectFrom('appointments')
      .select(['id', 'priority', 'positionKey', 'status', 'estimatedAt'])
      .where('queueId', '=', queueId)
      .where(IN_WAITING_LINE)
      .orderBy('priority', 'desc')
      .orderBy('positionKey', 'asc')
      .orderBy('id', 'asc')
      .limit(CALLABLE_SCAN)
      .execute(),
  ]);
  const onTime =
    front.find((e) => e.status !== 'checked_in' && e.estimatedAt > lateBefore) ??
    (front.length < CALLABLE_SCAN
      ? undefined
      : await trx
          .selectFrom('appointments')
          .select(['id', 'priority', 'positionKey'])
          .where('queueId', '=', queueId)
          .where(sql<boolean>`status in ('booked', 'confirmed')`)
          .where('estimatedAt', '>', lateBefore)
          .orderBy('estimatedAt', 'asc')
          .orderBy('positionKey', 'asc')
          .limit(1)
          .executeTakeFirst());
  const first = [checkedIn, onTime]
    .filter((c) => c !== undefined)
    .sort((a, b) => b.priority - a.priority || a.positionKey - b.positionKey || (a.id < b.id ? -1 : 1))[0];
  return first ? lockAppointment(trx, queueId, first.id) : undefined;
}

/** The patient being served (status `called`), at most one per day by the partial unique index. */
export function currentlyCalled(trx: Executor, queueId: string) {
  return trx
    .selectFrom('appointments')
    .selectAll()
    .where('queueId', '=', queueId)
    .where('status', '=', 'called')
    .forUpdate()
    .executeTakeFirst();
}

/** Consult durations (seconds) of the most recent completed visits of a day, newest first. */
export async function recentConsultSeconds(db: Executor, queueId: string, limit: number): Promise<number[]> {
  const rows = await db
    .selectFrom('appointments')
    .select(sql<number>`extract(epoch from completed_at - called_at)`.as('seconds'))
    .where('queueId', '=', queueId)
    .where('status', '=', 'completed')
    .where('calledAt', 'is not', null)
    .orderBy('completedAt', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => Math.max(0, Math.round(Number(r.seconds))));
}

/** Marks every entry still waiting (or skipped) as a no-show; returns their ids and serials. */
export function markRemainingNoShow(trx: Executor, queueId: string, at: Date) {
  return trx
    .updateTable('appointments')
    .set({ status: 'no_show', noShowAt: at, updatedAt: sql`now()` })
    .where('queueId', '=', queueId)
    .where('status', 'in', [...WAITING, 'skipped'])
    .returning(['id', 'serial'])
    .execute();
}

export function insertWalkIn(trx: Executor, values: Insertable<AppointmentsTable>) {
  return trx.insertInto('appointments').values(values).returningAll().executeTakeFirstOrThrow();
}

/**
 * Creates the day's row of `session` on local `date` if it does not exist yet, with its start and end as
 * instants in the hospital's zone, and returns its id. Safe under concurrency: racing callers get one row.
 */
export async function ensureSessionDay(
  trx: Executor,
  session: Pick<
    BookingSession,
    'id' | 'doctorId' | 'hospitalId' | 'startTime' | 'endTime' | 'capacity' | 'slotMinutes' | 'timezone'
  >,
  date: string,
): Promise<string> {
  const found = () =>
    trx
      .selectFrom('sessionDays')
      .select('id')
      .where('sessionId', '=', session.id)
      .where('date', '=', date)
      .executeTakeFirst();
  const existing = await found();
  if (existing) return existing.id;
  const inserted = await trx
    .insertInto('sessionDays')
    .values({
      sessionId: session.id,
      doctorId: session.doctorId,
      hospitalId: session.hospitalId,
      date,
      startsAt: localInstant(date, session.startTime, session.timezone),
      endsAt: localInstant(date, session.endTime, session.timezone),
      capacity: session.capacity,
      slotMinutes: session.slotMinutes,
    })
    .onConflict((oc) => oc.columns(['sessionId', 'date']).doNothing())
    .returning('id')
    .executeTakeFirst();
  if (inserted) return inserted.id;
  const raced = await found();
  if (!raced) throw new Error('session day vanished after a conflicting insert');
  return raced.id;
}

export interface LockedBooking {
  session: BookingSession;
  day: { id: string; startsAt: Date; status: string };
}

/**
 * Takes a booking's locks in one statement, in the order every schedule change takes them: the doctor and
 * the session key-share (a time-off or session edit holds them for update and runs first or waits), then
 * the day's queue row for update. Row locks are taken in the order of the locking clauses, and a row that
 * changed while we waited is re-read, so the session's rules and the queue row come back current.
 * Undefined when the session is gone or the day's queue row does not exist yet.
 */
export async function lockForBooking(
  trx: Executor,
  sessionId: string,
  date: string,
): Promise<LockedBooking | undefined> {
  const { rows } = await sql<
    BookingSession & { queueId: string; dayStartsAt: Date; dayStatus: string }
  >`${sql.raw(PREPARED)}
    select ${SESSION_RULE_COLUMNS}, q.id as queue_id, q.starts_at as day_starts_at, q.status as day_status
    from doctors d
    join sessions s on s.doctor_id = d.id
    join hospitals h on h.id = s.hospital_id
    join session_days q on q.session_id = s.id
    where s.id = ${sessionId}::uuid and s.deleted_at is null and q.date = ${date}::date
    for key share of d, s
    for update of q
  `.execute(trx);
  const r = rows[0];
  if (!r) return undefined;
  return { session: pickSession(r), day: { id: r.queueId, startsAt: r.dayStartsAt, status: r.dayStatus } };
}

/** The doctor and the session key-share, for the first booking of a day (before its queue row exists). */
export async function lockSessionForBooking(trx: Executor, sessionId: string) {
  const { rows } = await sql<BookingSession>`${sql.raw(PREPARED)}
    select ${SESSION_RULE_COLUMNS}
    from doctors d
    join sessions s on s.doctor_id = d.id
    join hospitals h on h.id = s.hospital_id
    where s.id = ${sessionId}::uuid and s.deleted_at is null
    for key share of d, s
  `.execute(trx);
  return rows[0] ? pickSession(rows[0]) : undefined;
}

export type PlaceRefusal =
  | 'replay'
  | 'time_off'
  | 'queue_closed'
  | 'full'
  | 'serial_taken'
  /** The session's rules changed (or the day's row went) since the caller read them: book on the full path. */
  | 'stale'
  /** The slot's messages could not be drafted before the statement: book on the full path. */
  | 'undrafted';

export interface PlaceInput {
  id: string;
  sessionId: string;
  queueId: string;
  doctorId: string;
  date: string;
  profileId: string;
  bookedBy: string;
  serviceId: string | null;
  /** An explicitly chosen serial; otherwise the next unused one (explicit picks ahead are skipped). */
  serial: number | null;
  trackingTokenHash: string;
  fee: string;
  now: Date;
  /** A waitlist offer being taken up: its own hold does not count against capacity. */
  offerEntryId: string | null;
  /** Claims the key with the final answer; a key already claimed refuses with 'replay'. */
  idempotency: { userId: string; key: string; requestHash: string; response: unknown } | null;
  /** The session's rules tag as the caller read them (outside the locks); refused as 'stale' if changed. */
  rulesTag?: string;
  /** The live estimate before the slot is known: the patient is told the later of this and the slot. */
  estimateFloor?: Date;
  /** The booking's messages, drafted before the statement (DomainEvents.draftBooking). */
  messages?: DraftedMessage[];
  /** Slot ranges whose messages the drafts do not cover: refused as 'undrafted'. */
  undraftedSlots?: [Date, Date][];
}

export type PlaceResult =
  | { refusal: PlaceRefusal }
  | {
      refusal: null;
      serial: number;
      /** The serial's scheduled time (the appointment's estimated_at). */
      slotAt: Date;
      /** The later of the slot and the estimate floor: what the drafted messages say. */
      estimatedAt: Date;
      version: number;
      bookedCount: number;
      capacity: number;
    };

/**
 * Places a booking with the one statement `day_book_place` (migration 0019): the locks, the checks that need
 * them, the serial, the appointment, the count, the version, the `booked` event and the drafted outbox rows.
 * Inside a transaction that already holds the locks it is the full path's booking step; on its own
 * (`db` outside any transaction) it is the whole booking in one round trip. A refusal writes nothing; the
 * one-per-day rule is the partial unique index, so a duplicate fails the statement.
 */
export async function placeBooking(db: Executor, p: PlaceInput): Promise<PlaceResult> {
  const args = {
    id: p.id,
    sessionId: p.sessionId,
    queueId: p.queueId,
    doctorId: p.doctorId,
    date: p.date,
    profileId: p.profileId,
    bookedBy: p.bookedBy,
    serviceId: p.serviceId,
    serial: p.serial,
    trackingTokenHash: p.trackingTokenHash,
    fee: p.fee,
    now: p.now.toISOString(),
    offerEntryId: p.offerEntryId,
    ...(p.idempotency
      ? {
          idempotencyKey: p.idempotency.key,
          requestHash: p.idempotency.requestHash,
          response: p.idempotency.response,
        }
      : {}),
    ...(p.rulesTag !== undefined ? { rulesTag: p.rulesTag } : {}),
    ...(p.estimateFloor ? { estimateFloor: p.estimateFloor.toISOString() } : {}),
    ...(p.messages?.length ? { outbox: p.messages } : {}),
    ...(p.undraftedSlots?.length
      ? { undraftedSlots: p.undraftedSlots.map(([a, b]) => [a.toISOString(), b.toISOString()]) }
      : {}),
  };
  const { rows } = await sql<{ r: PlaceJson }>`${sql.raw(PREPARED)}
    select day_book_place(${JSON.stringify(args)}::jsonb) as r`.execute(db);
  const r = rows[0]?.r;
  if (!r) throw new Error('day_book_place answered nothing');
  if (r.refusal) return { refusal: r.refusal };
  return {
    refusal: null,
    serial: r.serial,
    slotAt: new Date(r.slotAt),
    estimatedAt: new Date(r.estimatedAt),
    version: r.version,
    bookedCount: r.bookedCount,
    capacity: r.capacity,
  };
}

interface PlaceJson {
  refusal: PlaceRefusal | null;
  serial: number;
  slotAt: string;
  estimatedAt: string;
  version: number;
  bookedCount: number;
  capacity: number;
}
