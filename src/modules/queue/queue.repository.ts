import { type Insertable, sql, type Updateable } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { QueueEventType } from '../../events.js';
import type { AppointmentsTable } from '../appointments/appointments.table.js';
import type { SessionDaysTable } from './queue.table.js';

/** Locks a queue (session day) row for the rest of the transaction: every queue mutation starts here. */
export function lockQueue(trx: Executor, queueId: string) {
  return trx.selectFrom('sessionDays').selectAll().where('id', '=', queueId).forUpdate().executeTakeFirst();
}

export interface QueueEventInput {
  queueId: string;
  type: QueueEventType;
  appointmentId?: string | null;
  serial?: number | null;
  actorId?: string | null;
  reason?: string | null;
  data?: unknown;
}

/** Bumps the queue's version and appends the matching queue_events row; returns the new version. */
export async function recordQueueEvent(trx: Executor, event: QueueEventInput): Promise<number> {
  const { version } = await trx
    .updateTable('sessionDays')
    .set({ version: sql`version + 1`, updatedAt: sql`now()` })
    .where('id', '=', event.queueId)
    .returning('version')
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('queueEvents')
    .values({
      queueId: event.queueId,
      version,
      type: event.type,
      appointmentId: event.appointmentId ?? null,
      serial: event.serial ?? null,
      actorId: event.actorId ?? null,
      reason: event.reason ?? null,
      data: event.data === undefined ? null : JSON.stringify(event.data),
    })
    .execute();
  return version;
}

/**
 * Takes the next unused serial of a queue whose row the caller has locked (lockQueue). Serials picked
 * explicitly ahead of next_serial are skipped, and a serial is never handed out twice, even after a cancel.
 */
export async function takeNextSerial(trx: Executor, queueId: string): Promise<number> {
  const { nextSerial } = await trx
    .selectFrom('sessionDays')
    .select('nextSerial')
    .where('id', '=', queueId)
    .executeTakeFirstOrThrow();
  const taken = await trx
    .selectFrom('appointments')
    .select('serial')
    .where('queueId', '=', queueId)
    .where('serial', '>=', nextSerial)
    .execute();
  const used = new Set(taken.map((r) => r.serial));
  let serial = nextSerial;
  while (used.has(serial)) serial++;
  await trx
    .updateTable('sessionDays')
    .set({ nextSerial: serial + 1 })
    .where('id', '=', queueId)
    .execute();
  return serial;
}

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

export function lockAppointment(trx: Executor, queueId: string, appointmentId: string) {
  return trx
    .selectFrom('appointments')
    .selectAll()
    .where('id', '=', appointmentId)
    .where('queueId', '=', queueId)
    .forUpdate()
    .executeTakeFirst();
}

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

export function updateQueue(trx: Executor, queueId: string, patch: Updateable<SessionDaysTable>) {
  return trx.updateTable('sessionDays').set(patch).where('id', '=', queueId).execute();
}

/**
 * The waiting line's predicate written as literals, exactly as in the partial index
 * appointments_waiting_line_idx (migrations/0003): with bound parameters a generic plan could not prove
 * the index applies.
 */
const IN_WAITING_LINE = sql<boolean>`status in ('booked', 'confirmed', 'checked_in')`;

/**
 * The head of the waiting line, locked: highest priority first, then the position key, then the id (the
 * projection's tie order). Shaped for appointments_waiting_line_idx (queue_id, priority desc, position_key)
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

/** Consult durations (seconds) of the most recent completed visits of a queue, newest first. */
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
    .where('status', 'in', [...WAITING_STATUSES, 'skipped'])
    .returning(['id', 'serial'])
    .execute();
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

export function insertWalkIn(trx: Executor, values: Insertable<AppointmentsTable>) {
  return trx.insertInto('appointments').values(values).returningAll().executeTakeFirstOrThrow();
}
