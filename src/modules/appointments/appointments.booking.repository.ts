// The booking fast path: one read before the transaction, then two statements under the locks.
import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { PREPARED } from '../../db/prepared-pool.js';
import { ACTIVE } from './appointments.repository.js';

const SESSION_RULE_COLUMNS = sql`
  s.id, s.doctor_id, s.hospital_id, s.weekday, s.start_time, s.end_time, s.slot_minutes, s.capacity, s.fee,
  s.room, s.valid_from, s.valid_to, s.booking_opens_days, s.booking_closes_minutes,
  h.timezone, h.name as hospital_name, h.city as hospital_city, h.address as hospital_address,
  d.name as doctor_name`;

export interface BookingSession {
  id: string;
  doctorId: string;
  hospitalId: string;
  weekday: number;
  startTime: string;
  endTime: string;
  slotMinutes: number;
  capacity: number;
  fee: string;
  room: string | null;
  validFrom: string | null;
  validTo: string | null;
  bookingOpensDays: number;
  bookingClosesMinutes: number;
  timezone: string;
  hospitalName: string;
  hospitalCity: string;
  hospitalAddress: string;
  doctorName: string;
}

export interface BookingOutline {
  /** Null when there is no such live session. */
  session: BookingSession | null;
  /** The day's queue row as it stood, when it exists. */
  day: { id: string; startsAt: Date; status: string; bookedCount: number; capacity: number } | null;
  onTimeOff: boolean;
  duplicateId: string | null;
  profile: { name: string; accountId: string } | null;
  serviceOk: boolean;
  idempotency: { requestHash: string; response: unknown } | null;
}

/**
 * Everything the refusals before the transaction need, in one round trip: the session with its hospital and
 * doctor, the day's queue row, time off on the date, an active booking of the profile with the doctor that
 * day, the profile, the service and an earlier use of the Idempotency-Key. Always one row.
 */
export async function bookingOutline(
  db: Executor,
  q: {
    sessionId: string;
    date: string;
    profileId: string;
    serviceId: string | null;
    userId: string;
    idempotencyKey: string | null;
  },
): Promise<BookingOutline> {
  const { rows } = await sql<
    Partial<BookingSession> & {
      queueId: string | null;
      dayStartsAt: Date | null;
      dayStatus: string | null;
      dayBookedCount: number | null;
      dayCapacity: number | null;
      onTimeOff: boolean | null;
      duplicateId: string | null;
      profileName: string | null;
      profileAccountId: string | null;
      serviceOk: boolean;
      idemHash: string | null;
      idemResponse: unknown;
    }
  >`${sql.raw(PREPARED)}
    select ${SESSION_RULE_COLUMNS},
      q.id as queue_id, q.starts_at as day_starts_at, q.status as day_status,
      q.booked_count as day_booked_count, q.capacity as day_capacity,
      exists (select 1 from time_off t where t.doctor_id = s.doctor_id
              and t.from_date <= ${q.date}::date and t.to_date >= ${q.date}::date) as on_time_off,
      (select a.id from appointments a where a.profile_id = ${q.profileId}::uuid and a.doctor_id = s.doctor_id
         and a.date = ${q.date}::date and a.status in (${sql.join([...ACTIVE])}) limit 1) as duplicate_id,
      p.name as profile_name, p.account_id as profile_account_id,
      (${q.serviceId}::uuid is null or exists (select 1 from services sv where sv.id = ${q.serviceId}::uuid))
        as service_ok,
      k.request_hash as idem_hash, k.response as idem_response
    from (select 1) as one
    left join sessions s on s.id = ${q.sessionId}::uuid and s.deleted_at is null
    left join hospitals h on h.id = s.hospital_id
    left join doctors d on d.id = s.doctor_id
    left join session_days q on q.session_id = s.id and q.date = ${q.date}::date
    left join patient_profiles p on p.id = ${q.profileId}::uuid
    left join idempotency_keys k on k.user_id = ${q.userId}::uuid and k.key = ${q.idempotencyKey}::text
  `.execute(db);
  const r = rows[0];
  return {
    session: r.id ? (pickSession(r) as BookingSession) : null,
    day:
      r.queueId && r.dayStartsAt && r.dayStatus
        ? {
            id: r.queueId,
            startsAt: r.dayStartsAt,
            status: r.dayStatus,
            bookedCount: Number(r.dayBookedCount),
            capacity: Number(r.dayCapacity),
          }
        : null,
    onTimeOff: r.onTimeOff === true,
    duplicateId: r.duplicateId,
    profile:
      r.profileName !== null && r.profileAccountId
        ? { name: r.profileName, accountId: r.profileAccountId }
        : null,
    serviceOk: r.serviceOk,
    idempotency: r.idemHash ? { requestHash: r.idemHash, response: r.idemResponse } : null,
  };
}

function pickSession(r: Partial<BookingSession>): BookingSession {
  return {
    id: r.id as string,
    doctorId: r.doctorId as string,
    hospitalId: r.hospitalId as string,
    weekday: Number(r.weekday),
    startTime: r.startTime as string,
    endTime: r.endTime as string,
    slotMinutes: Number(r.slotMinutes),
    capacity: Number(r.capacity),
    fee: String(r.fee),
    room: r.room ?? null,
    validFrom: r.validFrom ?? null,
    validTo: r.validTo ?? null,
    bookingOpensDays: Number(r.bookingOpensDays),
    bookingClosesMinutes: Number(r.bookingClosesMinutes),
    timezone: r.timezone as string,
    hospitalName: r.hospitalName as string,
    hospitalCity: r.hospitalCity as string,
    hospitalAddress: r.hospitalAddress ?? '',
    doctorName: r.doctorName as string,
  };
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

export type PlaceRefusal = 'replay' | 'time_off' | 'queue_closed' | 'full' | 'serial_taken';

export interface PlaceInput {
  id: string;
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
}

export type PlaceResult =
  | { refusal: PlaceRefusal }
  | {
      refusal: null;
      serial: number;
      estimatedAt: Date;
      fee: string;
      version: number;
      bookedCount: number;
      capacity: number;
    };

/**
 * One statement, run while the caller holds the queue row lock (so it sees every committed serial, offer and
 * time off): checks time off, the queue's status, capacity with held waitlist offers, an explicit serial;
 * claims the Idempotency-Key (stamped with the clock's `now`, by which its cleanup measures age); then takes
 * the serial, inserts the appointment, counts it, bumps the queue's version and appends the `booked` queue
 * event. A refusal writes nothing the caller's rollback must not undo.
 * The one-per-day rule is the partial unique index: a duplicate fails the statement.
 */
export async function placeBooking(trx: Executor, p: PlaceInput): Promise<PlaceResult> {
  const key = p.idempotency?.key ?? null;
  const { rows } = await sql<{
    refusal: PlaceRefusal | null;
    serial: number | null;
    estimatedAt: Date | null;
    fee: string | null;
    version: number | null;
    bookedCount: number | null;
    capacity: number | null;
  }>`${sql.raw(PREPARED)}
    with q as (
      select id, capacity, booked_count, next_serial, status, starts_at, slot_minutes
      from session_days where id = ${p.queueId}::uuid
    ),
    claim as (
      insert into idempotency_keys (user_id, key, request_hash, status_code, response, created_at)
      select ${p.idempotency?.userId ?? null}::uuid, ${key}::text, ${p.idempotency?.requestHash ?? null}::text,
        201, ${p.idempotency ? JSON.stringify(p.idempotency.response) : null}::jsonb, ${p.now}::timestamptz
      where ${key}::text is not null
      on conflict (user_id, key) do nothing
      returning 1
    ),
    verdict as (
      select case
        when ${key}::text is not null and not exists (select 1 from claim) then 'replay'
        when exists (select 1 from time_off t where t.doctor_id = ${p.doctorId}::uuid
                     and t.from_date <= ${p.date}::date and t.to_date >= ${p.date}::date) then 'time_off'
        when q.status in ('closed', 'cancelled') then 'queue_closed'
        when q.booked_count + (
          select count(*) from waitlist_entries w
          where w.queue_id = q.id and w.status = 'offered' and w.offer_expires_at > ${p.now}::timestamptz
            and w.id is distinct from ${p.offerEntryId}::uuid) >= q.capacity then 'full'
        when ${p.serial}::int is not null and (${p.serial}::int > q.capacity or exists (
          select 1 from appointments a where a.queue_id = q.id and a.serial = ${p.serial}::int)) then 'serial_taken'
        end as refusal
      from q
    ),
    pick as (
      select coalesce(${p.serial}::int, case
        when not exists (select 1 from appointments a where a.queue_id = q.id and a.serial = q.next_serial)
          then q.next_serial
        else (select min(a.serial) + 1 from appointments a
              where a.queue_id = q.id and a.serial >= q.next_serial
                and not exists (select 1 from appointments b where b.queue_id = q.id and b.serial = a.serial + 1))
        end) as serial
      from q, verdict where verdict.refusal is null
    ),
    ins as (
      insert into appointments (id, queue_id, doctor_id, date, profile_id, booked_by, service_id, serial,
        position_key, estimated_at, tracking_token_hash, fee, booked_at)
      select ${p.id}::uuid, q.id, ${p.doctorId}::uuid, ${p.date}::date, ${p.profileId}::uuid,
        ${p.bookedBy}::uuid, ${p.serviceId}::uuid, pick.serial, pick.serial,
        q.starts_at + make_interval(mins => (pick.serial - 1) * q.slot_minutes),
        ${p.trackingTokenHash}, ${p.fee}::numeric, ${p.now}::timestamptz
      from q, pick
      returning id, serial, estimated_at, fee
    ),
    upd as (
      update session_days d set
        booked_count = d.booked_count + 1,
        next_serial = case when ${p.serial}::int is null then pick.serial + 1 else d.next_serial end,
        version = d.version + 1,
        updated_at = now()
      from pick where d.id = ${p.queueId}::uuid
      returning d.version, d.booked_count, d.capacity
    ),
    ev as (
      insert into queue_events (queue_id, version, type, appointment_id, serial, actor_id)
      select ${p.queueId}::uuid, upd.version, 'booked', ins.id, ins.serial, ${p.bookedBy}::uuid
      from upd, ins
      returning version
    )
    select verdict.refusal, ins.serial, ins.estimated_at, ins.fee, ev.version, upd.booked_count, upd.capacity
    from verdict
    left join ins on true
    left join upd on true
    left join ev on true
  `.execute(trx);
  const r = rows[0];
  if (!r) throw new Error('queue row missing while locked');
  if (r.refusal) return { refusal: r.refusal };
  if (r.serial === null || r.estimatedAt === null || r.version === null)
    throw new Error('booking statement wrote nothing without a refusal');
  return {
    refusal: null,
    serial: Number(r.serial),
    estimatedAt: r.estimatedAt,
    fee: String(r.fee),
    version: Number(r.version),
    bookedCount: Number(r.bookedCount),
    capacity: Number(r.capacity),
  };
}
