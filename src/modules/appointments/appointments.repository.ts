import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { AppointmentStatus } from './appointments.table.js';

/** Statuses that hold a place in the day (the partial unique index's complement). */
export const ACTIVE = ['booked', 'confirmed', 'checked_in', 'called', 'skipped'] as const;

export function findProfile(db: Executor, id: string) {
  return db
    .selectFrom('patientProfiles')
    .select(['id', 'accountId', 'name'])
    .where('id', '=', id)
    .where('deletedAt', 'is', null)
    .executeTakeFirst();
}

export function findActiveForProfile(
  db: Executor,
  q: { profileId: string; doctorId: string; date: string; excludeId?: string },
) {
  let query = db
    .selectFrom('appointments')
    .select(['id', 'queueId', 'serial'])
    .where('profileId', '=', q.profileId)
    .where('doctorId', '=', q.doctorId)
    .where('date', '=', q.date)
    .where('status', 'in', ACTIVE);
  if (q.excludeId) query = query.where('id', '!=', q.excludeId);
  return query.executeTakeFirst();
}

const DETAIL_COLUMNS = [
  'appointments.id',
  'appointments.queueId',
  'appointments.doctorId',
  'appointments.date',
  'appointments.profileId',
  'appointments.bookedBy',
  'appointments.serviceId',
  'appointments.serial',
  'appointments.kind',
  'appointments.status',
  'appointments.estimatedAt',
  'appointments.fee',
  'appointments.cancelReason',
  'appointments.bookedAt',
  'appointments.confirmedAt',
  'appointments.cancelledAt',
  'appointments.trackingTokenHash',
  'appointments.walkInName',
  'sessionDays.sessionId',
  'sessionDays.hospitalId',
  'sessionDays.startsAt',
  'sessionDays.slotMinutes',
  'sessions.room',
  'hospitals.name as hospitalName',
  'hospitals.city as hospitalCity',
  'hospitals.address as hospitalAddress',
  'hospitals.timezone',
  'doctors.name as doctorName',
  'patientProfiles.name as profileName',
  'patientProfiles.accountId as profileAccountId',
] as const;

function detailQuery(db: Executor) {
  return db
    .selectFrom('appointments')
    .innerJoin('sessionDays', 'sessionDays.id', 'appointments.queueId')
    .innerJoin('sessions', 'sessions.id', 'sessionDays.sessionId')
    .innerJoin('hospitals', 'hospitals.id', 'sessionDays.hospitalId')
    .innerJoin('doctors', 'doctors.id', 'appointments.doctorId')
    .leftJoin('patientProfiles', 'patientProfiles.id', 'appointments.profileId')
    .select(DETAIL_COLUMNS);
}

export type AppointmentDetail = NonNullable<Awaited<ReturnType<typeof findDetail>>>;

export function findDetail(db: Executor, id: string) {
  return detailQuery(db).where('appointments.id', '=', id).executeTakeFirst();
}

export interface ListFilter {
  date?: string;
  from?: string;
  to?: string;
  status?: AppointmentStatus[];
  doctorId?: string;
  hospitalId?: string;
  profileId?: string;
  order: 'asc' | 'desc';
  limit: number;
  after: [string, string] | null;
}

export interface ListScope {
  accountId?: string;
  doctorId?: string;
  hospitalId?: string;
}

export function listAppointments(db: Executor, scope: ListScope, f: ListFilter) {
  let q = detailQuery(db);
  if (scope.accountId) q = q.where('patientProfiles.accountId', '=', scope.accountId);
  if (scope.doctorId) q = q.where('appointments.doctorId', '=', scope.doctorId);
  if (scope.hospitalId) q = q.where('sessionDays.hospitalId', '=', scope.hospitalId);
  if (f.date) q = q.where('appointments.date', '=', f.date);
  if (f.from) q = q.where('appointments.date', '>=', f.from);
  if (f.to) q = q.where('appointments.date', '<=', f.to);
  if (f.status && f.status.length > 0) q = q.where('appointments.status', 'in', f.status);
  if (f.doctorId) q = q.where('appointments.doctorId', '=', f.doctorId);
  if (f.hospitalId) q = q.where('sessionDays.hospitalId', '=', f.hospitalId);
  if (f.profileId) q = q.where('appointments.profileId', '=', f.profileId);
  if (f.after) {
    const [at, id] = f.after;
    const cmp = f.order === 'asc' ? '>' : '<';
    q = q.where((eb) =>
      eb.or([
        eb('appointments.estimatedAt', cmp, new Date(at)),
        eb.and([eb('appointments.estimatedAt', '=', new Date(at)), eb('appointments.id', cmp, id)]),
      ]),
    );
  }
  return q
    .orderBy('appointments.estimatedAt', f.order)
    .orderBy('appointments.id', f.order)
    .limit(f.limit + 1)
    .execute();
}

/** What the care records need of one appointment: whose it is, its doctor and hospital, and its stage. */
export function findCareFacts(db: Executor, id: string) {
  return db
    .selectFrom('appointments')
    .innerJoin('sessionDays', 'sessionDays.id', 'appointments.queueId')
    .innerJoin('hospitals', 'hospitals.id', 'sessionDays.hospitalId')
    .innerJoin('doctors', 'doctors.id', 'appointments.doctorId')
    .select([
      'appointments.id',
      'appointments.profileId',
      'appointments.doctorId',
      'appointments.date',
      'appointments.status',
      'appointments.completedAt',
      'sessionDays.hospitalId',
      'hospitals.name as hospitalName',
      'hospitals.address as hospitalAddress',
      'hospitals.timezone',
      'doctors.name as doctorName',
      'doctors.licenseNo as doctorLicenseNo',
    ])
    .where('appointments.id', '=', id)
    .executeTakeFirst();
}

/** Whether a doctor has seen a profile (a completed visit) and whether they have a visit with it today. */
export async function doctorRelation(db: Executor, q: { doctorId: string; profileId: string; now: Date }) {
  const row = await db
    .selectFrom('appointments')
    .innerJoin('sessionDays', 'sessionDays.id', 'appointments.queueId')
    .innerJoin('hospitals', 'hospitals.id', 'sessionDays.hospitalId')
    .select((eb) => [
      eb.fn
        .coalesce(sql<boolean>`bool_or(appointments.status = 'completed')`, sql<boolean>`false`)
        .as('seen'),
      eb.fn
        .coalesce(
          sql<boolean>`bool_or(appointments.status <> 'cancelled'
            and appointments.date = (${q.now}::timestamptz at time zone hospitals.timezone)::date)`,
          sql<boolean>`false`,
        )
        .as('today'),
    ])
    .where('appointments.doctorId', '=', q.doctorId)
    .where('appointments.profileId', '=', q.profileId)
    .executeTakeFirstOrThrow();
  return { seen: row.seen, today: row.today };
}
