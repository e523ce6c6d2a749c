import type { Executor } from '../../db/database.js';

/** Appointment statuses that hold a place in the waiting line. */
export const WAITING_STATUSES = ['booked', 'confirmed', 'checked_in'] as const;

/** What an operation needs to know about a queue besides its row: zone, names, room. */
export function findQueueContext(db: Executor, queueId: string) {
  return db
    .selectFrom('sessionDays as q')
    .innerJoin('hospitals as h', 'h.id', 'q.hospitalId')
    .innerJoin('doctors as d', 'd.id', 'q.doctorId')
    .innerJoin('sessions as s', 's.id', 'q.sessionId')
    .select([
      'q.id',
      'q.hospitalId',
      'q.doctorId',
      'q.date',
      'q.slotMinutes',
      'q.startsAt',
      'h.timezone',
      'h.name as hospitalName',
      'd.name as doctorName',
      'd.userId as doctorUserId',
      's.room',
    ])
    .where('q.id', '=', queueId)
    .executeTakeFirst();
}

export type QueueContext = NonNullable<Awaited<ReturnType<typeof findQueueContext>>>;

export function findAppointment(db: Executor, appointmentId: string) {
  return db.selectFrom('appointments').selectAll().where('id', '=', appointmentId).executeTakeFirst();
}

export function findAppointmentByTrackingHash(db: Executor, hash: string) {
  return db
    .selectFrom('appointments')
    .select(['id', 'queueId'])
    .where('trackingTokenHash', '=', hash)
    .executeTakeFirst();
}

/** The account that owns an appointment: its booker, or the account holding its profile. */
export async function appointmentOwnerIds(db: Executor, appointmentId: string): Promise<string[]> {
  const row = await db
    .selectFrom('appointments as a')
    .leftJoin('patientProfiles as p', 'p.id', 'a.profileId')
    .select(['a.bookedBy', 'p.accountId'])
    .where('a.id', '=', appointmentId)
    .executeTakeFirst();
  if (!row) return [];
  return [row.bookedBy, row.accountId].filter((id): id is string => id !== null);
}

export interface QueueListFilter {
  date?: string;
  hospitalId?: string;
  doctorId?: string;
  afterId?: string;
  limit: number;
}

export function listQueues(db: Executor, filter: QueueListFilter) {
  let query = db
    .selectFrom('sessionDays as q')
    .innerJoin('hospitals as h', 'h.id', 'q.hospitalId')
    .innerJoin('doctors as d', 'd.id', 'q.doctorId')
    .innerJoin('sessions as s', 's.id', 'q.sessionId')
    .select([
      'q.id',
      'q.date',
      'q.hospitalId',
      'q.doctorId',
      'q.sessionId',
      'q.startsAt',
      'q.endsAt',
      'q.status',
      'q.version',
      'q.nowServing',
      'q.bookedCount',
      'q.capacity',
      'h.name as hospitalName',
      'd.name as doctorName',
      's.room',
    ]);
  if (filter.date) query = query.where('q.date', '=', filter.date);
  if (filter.hospitalId) query = query.where('q.hospitalId', '=', filter.hospitalId);
  if (filter.doctorId) query = query.where('q.doctorId', '=', filter.doctorId);
  if (filter.afterId) query = query.where('q.id', '>', filter.afterId);
  return query
    .orderBy('q.id')
    .limit(filter.limit + 1)
    .execute();
}

/** Names of the given appointments (walk-in name, else the profile's), for staff views. */
export async function entryNames(db: Executor, appointmentIds: string[]): Promise<Map<string, string>> {
  if (appointmentIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('appointments as a')
    .leftJoin('patientProfiles as p', 'p.id', 'a.profileId')
    .select(['a.id', 'a.walkInName', 'p.name'])
    .where('a.id', 'in', appointmentIds)
    .execute();
  return new Map(rows.map((r) => [r.id, r.walkInName ?? r.name ?? '']));
}

export function findProfile(db: Executor, profileId: string) {
  return db
    .selectFrom('patientProfiles')
    .select(['id', 'name', 'phone', 'accountId'])
    .where('id', '=', profileId)
    .where('deletedAt', 'is', null)
    .executeTakeFirst();
}
