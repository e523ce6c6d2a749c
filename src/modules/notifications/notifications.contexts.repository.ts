// Kysely queries for what messages are built from (appointment and offer contexts, queue order and timing,
// what a patient was last told). No rules here; nothing here writes.
import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { executePrepared } from '../../db/prepared-pool.js';

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
