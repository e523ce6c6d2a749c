import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { UUID_PATTERN } from '../../lib/schema.js';

/** Statuses that hold a serial: what "active" means for capacity and the one-per-day rule. */
export const ACTIVE_STATUSES = ['booked', 'confirmed', 'checked_in', 'called', 'skipped'] as const;

const SESSION_COLUMNS = [
  'sessions.id',
  'sessions.doctorId',
  'sessions.hospitalId',
  'sessions.weekday',
  'sessions.startTime',
  'sessions.endTime',
  'sessions.slotMinutes',
  'sessions.capacity',
  'sessions.fee',
  'sessions.room',
  'sessions.validFrom',
  'sessions.validTo',
  'sessions.bookingOpensDays',
  'sessions.bookingClosesMinutes',
  'sessions.confirmedAt',
  'doctors.verifiedAt as doctorVerifiedAt',
  'hospitals.timezone',
  'hospitals.name as hospitalName',
  'hospitals.city as hospitalCity',
] as const;

function sessionsWithHospital(db: Executor) {
  return db
    .selectFrom('sessions')
    .innerJoin('hospitals', 'hospitals.id', 'sessions.hospitalId')
    .innerJoin('doctors', 'doctors.id', 'sessions.doctorId')
    .select(SESSION_COLUMNS)
    .where('sessions.deletedAt', 'is', null);
}

export type SessionRow = NonNullable<Awaited<ReturnType<typeof findSession>>>;

export function findSession(db: Executor, id: string) {
  return sessionsWithHospital(db).where('sessions.id', '=', id).executeTakeFirst();
}

/** The session for a booking, share-locked so an edit or delete waits for the booking (and vice versa). */
export function findSessionKeyShare(db: Executor, id: string) {
  return sessionsWithHospital(db).where('sessions.id', '=', id).forKeyShare('sessions').executeTakeFirst();
}

export function lockSession(db: Executor, id: string) {
  return sessionsWithHospital(db).where('sessions.id', '=', id).forUpdate('sessions').executeTakeFirst();
}

export function listDoctorSessions(db: Executor, doctorId: string) {
  return sessionsWithHospital(db)
    .where('sessions.doctorId', '=', doctorId)
    .orderBy('sessions.weekday')
    .orderBy('sessions.startTime')
    .orderBy('sessions.id')
    .execute();
}

export function sessionsOfDoctors(db: Executor, doctorIds: string[]) {
  if (doctorIds.length === 0) return Promise.resolve([]);
  return sessionsWithHospital(db).where('sessions.doctorId', 'in', doctorIds).execute();
}

export function findDoctor(db: Executor, id: string) {
  return db
    .selectFrom('doctors')
    .select(['id', 'name', 'userId', 'verifiedAt'])
    .where('id', '=', id)
    .executeTakeFirst();
}

/** Marks a pending session confirmed by its hospital; a confirmed one keeps its first confirmation. */
export function confirmSession(db: Executor, id: string, by: string, at: Date) {
  return db
    .updateTable('sessions')
    .set({ confirmedAt: at, confirmedBy: by, updatedAt: sql`now()` })
    .where('id', '=', id)
    .where('confirmedAt', 'is', null)
    .execute();
}

/** Sessions waiting for a hospital's confirmation (every hospital's when `hospitalId` is null), oldest first. */
export function pendingSessions(db: Executor, hospitalId: string | null) {
  let query = sessionsWithHospital(db).where('sessions.confirmedAt', 'is', null);
  if (hospitalId) query = query.where('sessions.hospitalId', '=', hospitalId);
  return query
    .select('doctors.name as doctorName')
    .orderBy('sessions.createdAt')
    .orderBy('sessions.id')
    .limit(500)
    .execute();
}

/** Serialises schedule edits of one doctor (overlap checks, time off) against each other and bookings. */
export function lockDoctor(db: Executor, id: string) {
  return db.selectFrom('doctors').select(['id', 'name']).where('id', '=', id).forUpdate().executeTakeFirst();
}

/** Bookings take this: it waits for a running time-off or session edit of the doctor, and lets other bookings through. */
export function keyShareDoctor(db: Executor, id: string) {
  return db.selectFrom('doctors').select('id').where('id', '=', id).forKeyShare().executeTakeFirst();
}

export function findHospital(db: Executor, id: string) {
  return db
    .selectFrom('hospitals')
    .select(['id', 'name', 'city', 'timezone'])
    .where('id', '=', id)
    .where('deletedAt', 'is', null)
    .executeTakeFirst();
}

export interface OverlapQuery {
  doctorId: string;
  weekday: number;
  startTime: string;
  endTime: string;
  validFrom: string | null;
  validTo: string | null;
  excludeId?: string;
}

/** Live sessions of the doctor on that weekday whose hours and validity ranges both overlap. */
export function findOverlappingSession(db: Executor, q: OverlapQuery) {
  let query = db
    .selectFrom('sessions')
    .select(['id', 'startTime', 'endTime'])
    .where('doctorId', '=', q.doctorId)
    .where('weekday', '=', q.weekday)
    .where('deletedAt', 'is', null)
    .where('startTime', '<', q.endTime)
    .where('endTime', '>', q.startTime);
  if (q.validTo)
    query = query.where((eb) => eb.or([eb('validFrom', 'is', null), eb('validFrom', '<=', q.validTo)]));
  if (q.validFrom)
    query = query.where((eb) => eb.or([eb('validTo', 'is', null), eb('validTo', '>=', q.validFrom)]));
  if (q.excludeId) query = query.where('id', '!=', q.excludeId);
  return query.executeTakeFirst();
}

export interface SessionInsert {
  /** Null while the session waits for its hospital's confirmation. */
  confirmedAt?: Date | null;
  confirmedBy?: string | null;
  doctorId: string;
  hospitalId: string;
  weekday: number;
  startTime: string;
  endTime: string;
  slotMinutes: number;
  capacity: number;
  fee: string | number;
  room: string | null;
  validFrom: string | null;
  validTo: string | null;
  bookingOpensDays: number;
  bookingClosesMinutes: number;
}

export async function insertSession(db: Executor, values: SessionInsert) {
  const { id } = await db.insertInto('sessions').values(values).returning('id').executeTakeFirstOrThrow();
  return id;
}

export function updateSession(db: Executor, id: string, values: Partial<SessionInsert>) {
  return db
    .updateTable('sessions')
    .set({ ...values, updatedAt: sql`now()` })
    .where('id', '=', id)
    .execute();
}

export function softDeleteSession(db: Executor, id: string, at: Date) {
  return db
    .updateTable('sessions')
    .set({ deletedAt: at, updatedAt: sql`now()` })
    .where('id', '=', id)
    .execute();
}

export function findSessionDay(db: Executor, sessionId: string, date: string) {
  return db
    .selectFrom('sessionDays')
    .selectAll()
    .where('sessionId', '=', sessionId)
    .where('date', '=', date)
    .executeTakeFirst();
}

export function findSessionDayById(db: Executor, id: string) {
  return db.selectFrom('sessionDays').selectAll().where('id', '=', id).executeTakeFirst();
}

export function sessionDaysInRange(db: Executor, sessionIds: string[], from: string, to: string) {
  if (sessionIds.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('sessionDays')
    .select([
      'id',
      'sessionId',
      'date',
      'status',
      'bookedCount',
      'nextSerial',
      'capacity',
      'startsAt',
      'endsAt',
      'slotMinutes',
    ])
    .where('sessionId', 'in', sessionIds)
    .where('date', '>=', from)
    .where('date', '<=', to)
    .execute();
}

/** Future (from `from`) queues of a session, for re-deriving their times after an edit. */
export function futureSessionDays(db: Executor, sessionId: string, from: string) {
  return db
    .selectFrom('sessionDays')
    .select(['id', 'date', 'status'])
    .where('sessionId', '=', sessionId)
    .where('date', '>=', from)
    .orderBy('id')
    .execute();
}

/** Active appointments of a session from a date on: what an edit or a delete could invalidate. */
export function activeAppointmentsOfSession(db: Executor, sessionId: string, from: string) {
  return db
    .selectFrom('appointments')
    .innerJoin('sessionDays', 'sessionDays.id', 'appointments.queueId')
    .select(['appointments.id', 'appointments.date', 'appointments.serial', 'appointments.queueId'])
    .where('sessionDays.sessionId', '=', sessionId)
    .where('appointments.date', '>=', from)
    .where('appointments.status', 'in', ACTIVE_STATUSES)
    .orderBy('appointments.date')
    .orderBy('appointments.serial')
    .execute();
}

/**
 * Active, not yet called appointments of a doctor within a date range: what time off cancels. Time off entered
 * at a hospital's desk (`hospitalId`) reaches only that hospital's session days; null reaches all of them.
 */
export function appointmentsInRange(
  db: Executor,
  doctorId: string,
  from: string,
  to: string,
  hospitalId: string | null,
) {
  let query = db
    .selectFrom('appointments')
    .innerJoin('sessionDays', 'sessionDays.id', 'appointments.queueId')
    .select(['appointments.id', 'appointments.queueId'])
    .where('appointments.doctorId', '=', doctorId)
    .where('appointments.date', '>=', from)
    .where('appointments.date', '<=', to)
    .where('appointments.status', 'in', ['booked', 'confirmed', 'checked_in']);
  if (hospitalId) query = query.where('sessionDays.hospitalId', '=', hospitalId);
  return query.execute();
}

export function listTimeOff(db: Executor, doctorId: string, from: string | null) {
  let query = db.selectFrom('timeOff').selectAll().where('doctorId', '=', doctorId);
  if (from) query = query.where('toDate', '>=', from);
  return query.orderBy('fromDate').orderBy('id').execute();
}

export function findTimeOff(db: Executor, id: string) {
  return db.selectFrom('timeOff').selectAll().where('id', '=', id).executeTakeFirst();
}

export function insertTimeOff(
  db: Executor,
  values: { doctorId: string; hospitalId: string | null; fromDate: string; toDate: string; reason: string },
) {
  return db.insertInto('timeOff').values(values).returningAll().executeTakeFirstOrThrow();
}

export function deleteTimeOff(db: Executor, id: string) {
  return db.deleteFrom('timeOff').where('id', '=', id).execute();
}

/**
 * Time-off ranges of some doctors that touch [from, to], with the hospital each covers (null: all). With
 * `hospitalId`, only the ranges that cover that hospital's sessions.
 */
export function timeOffOverlapping(
  db: Executor,
  doctorIds: string[],
  from: string,
  to: string,
  hospitalId?: string,
) {
  if (doctorIds.length === 0) return Promise.resolve([]);
  let query = db
    .selectFrom('timeOff')
    .select(['doctorId', 'fromDate', 'toDate', 'hospitalId'])
    .where('doctorId', 'in', doctorIds)
    .where('fromDate', '<=', to)
    .where('toDate', '>=', from);
  if (hospitalId)
    query = query.where((eb) => eb.or([eb('hospitalId', 'is', null), eb('hospitalId', '=', hospitalId)]));
  return query.execute();
}

/** Serials a day's queue has handed out, cancelled ones included: a serial is never given twice. */
export async function takenSerials(db: Executor, queueId: string): Promise<Set<number>> {
  const rows = await db.selectFrom('appointments').select('serial').where('queueId', '=', queueId).execute();
  return new Set(rows.map((r) => r.serial));
}

/** Pending waitlist offers per queue: they hold a freed place, so availability counts them as taken. */
export async function heldOffers(db: Executor, queueIds: string[], now: Date): Promise<Map<string, number>> {
  if (queueIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('waitlistEntries')
    .select(['queueId', (eb) => eb.fn.countAll<number>().as('n')])
    .where('queueId', 'in', queueIds)
    .where('status', '=', 'offered')
    .where('offerExpiresAt', '>', now)
    .groupBy('queueId')
    .execute();
  return new Map(rows.map((r) => [r.queueId, Number(r.n)]));
}

/** Does staff of this hospital manage this doctor (a live, confirmed session there)? */
export async function doctorWorksAt(db: Executor, doctorId: string, hospitalId: string): Promise<boolean> {
  const row = await db
    .selectFrom('sessions')
    .select('id')
    .where('doctorId', '=', doctorId)
    .where('hospitalId', '=', hospitalId)
    .where('deletedAt', 'is', null)
    .where('confirmedAt', 'is not', null)
    .executeTakeFirst();
  return row !== undefined;
}

export interface DoctorFilter {
  specialization?: string;
  serviceId?: string;
  city?: string;
  excludeDoctorId?: string;
  specializationIds?: string[];
}

/** Verified doctors with a live session on this weekday, narrowed by the calendar filters. */
export function sessionsForDay(db: Executor, weekday: number, filter: DoctorFilter) {
  let query = db
    .selectFrom('sessions')
    .innerJoin('hospitals', 'hospitals.id', 'sessions.hospitalId')
    .innerJoin('doctors', 'doctors.id', 'sessions.doctorId')
    .select([...SESSION_COLUMNS, 'doctors.name as doctorName'])
    .where('sessions.deletedAt', 'is', null)
    .where('hospitals.deletedAt', 'is', null)
    .where('doctors.verifiedAt', 'is not', null)
    .where('sessions.confirmedAt', 'is not', null)
    .where('sessions.weekday', '=', weekday);
  if (filter.city) query = query.where(sql<boolean>`lower(hospitals.city) = lower(${filter.city})`);
  if (filter.excludeDoctorId) query = query.where('doctors.id', '!=', filter.excludeDoctorId);
  if (filter.serviceId) {
    const serviceId = filter.serviceId;
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('doctorServices')
          .select('doctorServices.doctorId')
          .whereRef('doctorServices.doctorId', '=', 'doctors.id')
          .where('doctorServices.serviceId', '=', serviceId),
      ),
    );
  }
  if (filter.specialization) {
    const spec = filter.specialization;
    const isUuid = UUID_PATTERN.test(spec);
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('doctorSpecializations')
          .innerJoin('specializations', 'specializations.id', 'doctorSpecializations.specializationId')
          .select('doctorSpecializations.doctorId')
          .whereRef('doctorSpecializations.doctorId', '=', 'doctors.id')
          .where(isUuid ? 'specializations.id' : 'specializations.name', '=', spec),
      ),
    );
  }
  if (filter.specializationIds) {
    const ids = filter.specializationIds;
    if (ids.length === 0) return Promise.resolve([]);
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom('doctorSpecializations')
          .select('doctorSpecializations.doctorId')
          .whereRef('doctorSpecializations.doctorId', '=', 'doctors.id')
          .where('doctorSpecializations.specializationId', 'in', ids),
      ),
    );
  }
  return query.orderBy('doctors.name').orderBy('sessions.startTime').orderBy('sessions.id').execute();
}

export async function specializationIdsOf(db: Executor, doctorId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('doctorSpecializations')
    .select('specializationId')
    .where('doctorId', '=', doctorId)
    .execute();
  return rows.map((r) => r.specializationId);
}
