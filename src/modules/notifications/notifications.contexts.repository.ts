// Kysely queries for what messages are built from (appointment and offer contexts, queue order and timing,
// what a patient was last told). No rules here; nothing here writes.
import { CompiledQuery, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { executePrepared, PREPARED } from '../../db/prepared-pool.js';

/**
 * Everything a message about an appointment needs, in one read: a ten-table join that every booking runs, so it
 * is a prepared statement, with the ids as one array parameter so any number of them shares the one plan.
 */
export async function loadAppointmentContexts(db: Executor, ids: string[]) {
  const query = db
    .selectFrom('appointments as a')
    .innerJoin('sessionDays as q', 'q.id', 'a.queueId')
    .innerJoin('sessions as s', 's.id', 'q.sessionId')
    .innerJoin('hospitals as h', 'h.id', 'q.hospitalId')
    .innerJoin('doctors as d', 'd.id', 'a.doctorId')
    .leftJoin('services as sv', 'sv.id', 'a.serviceId')
    .leftJoin('patientProfiles as pp', 'pp.id', 'a.profileId')
    .leftJoin('users as u', 'u.id', 'pp.accountId')
    .leftJoin('notificationPreferences as np', 'np.userId', 'u.id')
    .innerJoin('users as du', 'du.id', 'd.userId')
    .select([
      'a.id',
      'a.queueId',
      'a.serial',
      'a.status',
      'a.kind',
      'a.estimatedAt',
      'a.date',
      'a.fee',
      'a.walkInName',
      'a.walkInPhone',
      'q.hospitalId',
      'q.notice',
      'q.pausedUntil',
      's.room',
      'h.name as hospitalName',
      'h.timezone',
      'h.quietStart as hospitalQuietStart',
      'h.quietEnd as hospitalQuietEnd',
      'd.name as doctorName',
      'd.userId as doctorUserId',
      'du.email as doctorEmail',
      'du.phone as doctorPhone',
      'sv.name as serviceName',
      'pp.name as patientName',
      'pp.phone as profilePhone',
      'u.id as userId',
      'u.email as userEmail',
      'u.phone as userPhone',
      'np.channels',
      'np.reminderOffsets',
      'np.quietStart',
      'np.quietEnd',
      'np.language',
      (eb) =>
        eb
          .selectFrom('notificationOutbox as c')
          .select(sql<string>`c.payload->>'trackingUrl'`.as('url'))
          .whereRef('c.appointmentId', '=', 'a.id')
          .where('c.kind', 'in', ['confirmation', 'reschedule'])
          .limit(1)
          .as('trackingUrl'),
    ])
    .where('a.id', '=', sql<string>`any(${ids}::uuid[])`);
  return (await executePrepared(db, query)).rows;
}

export type AppointmentContext = Awaited<ReturnType<typeof loadAppointmentContexts>>[number];

/** The columns of a booking's context that come from the day, the session, the people and the service. */
type BookingContextRow = Omit<
  AppointmentContext,
  | 'id'
  | 'queueId'
  | 'serial'
  | 'status'
  | 'kind'
  | 'estimatedAt'
  | 'walkInName'
  | 'walkInPhone'
  | 'trackingUrl'
>;

const BOOKING_CONTEXT_SQL = `${PREPARED}
  select q.date, s.fee, q.hospital_id, q.notice, q.paused_until, s.room,
    h.name as hospital_name, h.timezone, h.quiet_start as hospital_quiet_start, h.quiet_end as hospital_quiet_end,
    d.name as doctor_name, d.user_id as doctor_user_id, du.email as doctor_email, du.phone as doctor_phone,
    sv.name as service_name, pp.name as patient_name, pp.phone as profile_phone,
    u.id as user_id, u.email as user_email, u.phone as user_phone,
    np.channels, np.reminder_offsets, np.quiet_start, np.quiet_end, np.language
  from session_days q
  join sessions s on s.id = q.session_id
  join hospitals h on h.id = q.hospital_id
  join doctors d on d.id = q.doctor_id
  join users du on du.id = d.user_id
  join patient_profiles pp on pp.id = $2::uuid
  left join users u on u.id = pp.account_id
  left join notification_preferences np on np.user_id = u.id
  left join services sv on sv.id = $3::uuid
  where q.id = $1::uuid`;

/**
 * The context of a booking not placed yet (its statement drafts the messages): the appointment's fields as
 * they will be, from the day, the session, the profile and the service; the serial and the estimate are the
 * statement's, so they are placeholders here. Undefined when the day or the profile is gone.
 */
export async function loadBookingContext(
  db: Executor,
  b: { appointmentId: string; queueId: string; profileId: string; serviceId: string | null; at: Date },
): Promise<AppointmentContext | undefined> {
  // Compiled once: every booking runs it, and building it anew costs more CPU than Postgres spends on it.
  const query = CompiledQuery.raw(BOOKING_CONTEXT_SQL, [b.queueId, b.profileId, b.serviceId]);
  const row = (await db.executeQuery<BookingContextRow>(query)).rows[0];
  if (!row) return undefined;
  return {
    ...row,
    id: b.appointmentId,
    queueId: b.queueId,
    serial: 0,
    status: 'booked',
    kind: 'booked',
    estimatedAt: b.at,
    walkInName: null,
    walkInPhone: null,
    trackingUrl: null,
  };
}

/** Ids of the appointments still waiting in a queue, in queue order. */
export async function waitingAppointments(db: Executor, queueId: string, limit?: number) {
  let query = db
    .selectFrom('appointments')
    .select(['id', 'status', 'estimatedAt'])
    .where('queueId', '=', queueId)
    .where(sql<boolean>`status in ('booked', 'confirmed', 'checked_in')`)
    .orderBy('priority', 'desc')
    .orderBy('positionKey')
    .orderBy('id');
  if (limit !== undefined) query = query.limit(limit);
  return query.execute();
}

/** Which of these appointments were already told their turn is near. */
export async function toldTurnNear(db: Executor, appointmentIds: string[]): Promise<Set<string>> {
  if (appointmentIds.length === 0) return new Set();
  const rows = await db
    .selectFrom('notificationOutbox')
    .select('appointmentId')
    .distinct()
    .where('appointmentId', 'in', appointmentIds)
    .where('kind', '=', 'turn_near')
    .execute();
  return new Set(rows.map((r) => r.appointmentId).filter((id): id is string => id !== null));
}

/** A waitlist offer's context: the queue day it is for, and the account and profile it is offered to. */
export function loadOfferContext(
  db: Executor,
  offer: { queueId: string; profileId: string; accountId: string },
) {
  return db
    .selectFrom('sessionDays as q')
    .innerJoin('sessions as s', 's.id', 'q.sessionId')
    .innerJoin('hospitals as h', 'h.id', 'q.hospitalId')
    .innerJoin('doctors as d', 'd.id', 'q.doctorId')
    .innerJoin('users as u', (join) => join.on('u.id', '=', offer.accountId))
    .leftJoin('patientProfiles as pp', (join) =>
      join.on('pp.id', '=', offer.profileId).onRef('pp.accountId', '=', 'u.id'),
    )
    .leftJoin('notificationPreferences as np', 'np.userId', 'u.id')
    .select([
      'q.hospitalId',
      'q.date',
      'q.startsAt',
      's.room',
      'h.name as hospitalName',
      'h.timezone',
      'h.quietStart as hospitalQuietStart',
      'h.quietEnd as hospitalQuietEnd',
      'd.name as doctorName',
      'pp.phone as profilePhone',
      'u.id as userId',
      'u.email as userEmail',
      'u.phone as userPhone',
      'np.channels',
      'np.quietStart',
      'np.quietEnd',
      'np.language',
    ])
    .where('q.id', '=', offer.queueId)
    .executeTakeFirst();
}

export type OfferContext = NonNullable<Awaited<ReturnType<typeof loadOfferContext>>>;

/** Whether the appointment was announced as the new half of a reschedule. */
export async function hasRescheduleMessage(db: Executor, appointmentId: string): Promise<boolean> {
  const row = await db
    .selectFrom('notificationOutbox')
    .select('id')
    .where('appointmentId', '=', appointmentId)
    .where('kind', '=', 'reschedule')
    .executeTakeFirst();
  return row !== undefined;
}

/** What the live ETA of a queue day is computed from. */
export function findQueueTiming(db: Executor, queueId: string) {
  return db
    .selectFrom('sessionDays')
    .select(['avgConsultSeconds', 'slotMinutes', 'status', 'startsAt'])
    .where('id', '=', queueId)
    .executeTakeFirst();
}

/**
 * The time each appointment was last told (confirmation, reschedule or "arrive by" message not cancelled or
 * failed), as epoch ms.
 */
export async function lastToldTimes(db: Executor, appointmentIds: string[]): Promise<Map<string, number>> {
  const told = new Map<string, number>();
  if (appointmentIds.length === 0) return told;
  const rows = await db
    .selectFrom('notificationOutbox')
    .select(['appointmentId', 'payload'])
    .where('appointmentId', 'in', appointmentIds)
    .where('kind', 'in', ['confirmation', 'reschedule', 'arrive_by'])
    .where('status', 'not in', ['cancelled', 'failed'])
    .orderBy('createdAt')
    .execute();
  for (const row of rows) {
    const at = (row.payload as { estimatedAt?: string }).estimatedAt;
    if (row.appointmentId && at) told.set(row.appointmentId, Date.parse(at));
  }
  return told;
}

/** The next active appointment of whoever owns this phone number (profile, account or walk-in). */
export function nextAppointmentForPhone(db: Executor, phone: string, now: Date) {
  return db
    .selectFrom('appointments as a')
    .leftJoin('patientProfiles as pp', 'pp.id', 'a.profileId')
    .leftJoin('users as u', 'u.id', 'pp.accountId')
    .select(['a.id', 'a.queueId', 'a.serial', 'a.status', 'a.estimatedAt'])
    .where('a.status', 'in', ['booked', 'confirmed'])
    .where('a.estimatedAt', '>', new Date(now.getTime() - 3 * 3600_000))
    .where((eb) =>
      eb.or([eb('pp.phone', '=', phone), eb('u.phone', '=', phone), eb('a.walkInPhone', '=', phone)]),
    )
    .orderBy('a.estimatedAt')
    .limit(1)
    .executeTakeFirst();
}
