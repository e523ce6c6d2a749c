// Reads a queue's live projection from Postgres (the source of truth) for a rebuild, and computes the
// position key of a recall inside the operation's transaction so Postgres and the projection agree.
// The fairness counts (out-of-order calls) come from queue_events here, only on a rebuild; live changes
// keep them in the projection.
import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { AppointmentStatus } from '../appointments/appointments.table.js';
import { stageOf } from '../day/day.rules.js';
import {
  CONSULT_SAMPLES,
  consultSeconds,
  type EntryStatus,
  keyBetween,
  type QueueEntry,
  type QueueProjection,
} from './queue.store.js';

/** Appointment statuses that are in the live queue. */
export const LIVE_STATUSES = ['booked', 'confirmed', 'checked_in', 'called', 'skipped'] as const;
const WAITING_STATUSES = ['booked', 'confirmed', 'checked_in'] as const;

const iso = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

function entryStatus(status: AppointmentStatus): EntryStatus {
  return status === 'called' ? 'called' : status === 'skipped' ? 'skipped' : 'waiting';
}

/**
 * The full projection of one queue: its session_days row, every appointment not yet finished, and the
 * durations of the last CONSULT_SAMPLES completed visits. Null when the queue does not exist.
 * Use as the loader of `store.rebuild(queueId, () => loadProjection(db, queueId))`.
 */
export async function loadProjection(db: Executor, queueId: string): Promise<QueueProjection | null> {
  const day = await db.selectFrom('sessionDays').selectAll().where('id', '=', queueId).executeTakeFirst();
  if (!day) return null;
  const rows = await db
    .selectFrom('appointments as a')
    .leftJoin('patientProfiles as p', 'p.id', 'a.profileId')
    .select([
      'a.id',
      'a.serial',
      'a.status',
      'a.priority',
      'a.positionKey',
      'a.kind',
      'a.estimatedAt',
      'a.walkInName',
      'a.confirmedAt',
      'a.checkedInAt',
      'p.name as profileName',
    ])
    .where('a.queueId', '=', queueId)
    .where('a.status', 'in', LIVE_STATUSES)
    .execute();
  const completed = await db
    .selectFrom('appointments')
    .select(['calledAt', 'completedAt'])
    .where('queueId', '=', queueId)
    .where('status', '=', 'completed')
    .where('calledAt', 'is not', null)
    .where('completedAt', 'is not', null)
    .orderBy('completedAt', 'desc')
    .orderBy('serial', 'desc')
    .limit(CONSULT_SAMPLES)
    .execute();
  const fairness = await outOfOrderBases(
    db,
    queueId,
    rows.map((r) => r.id),
  );
  const entries: QueueEntry[] = rows.map((row) => ({
    appointmentId: row.id,
    serial: row.serial,
    status: entryStatus(row.status),
    stage: stageOf(row),
    priority: row.priority,
    positionKey: row.positionKey,
    kind: row.kind,
    label: row.walkInName ?? row.profileName ?? null,
    estimatedAt: iso(row.estimatedAt),
    outOfOrderBase: fairness.bases.get(row.id) ?? fairness.count,
  }));
  // A pause of unknown length pushes ETAs by the time paused so far: a rebuild mid-pause keeps its start.
  const paused =
    day.status === 'paused'
      ? await db
          .selectFrom('queueEvents')
          .select(sql<Date | null>`max(at)`.as('at'))
          .where('queueId', '=', queueId)
          .where('type', '=', 'paused')
          .executeTakeFirst()
      : undefined;
  return {
    meta: {
      queueId,
      version: day.version,
      status: day.status,
      nowServing: day.nowServing,
      consultSamples: completed.reverse().map((r) => consultSeconds(r.calledAt!, r.completedAt!)),
      notice: day.notice,
      pausedUntil: iso(day.pausedUntil),
      pausedAt: paused?.at ? iso(paused.at) : null,
      startsAt: iso(day.startsAt)!,
      slotMinutes: day.slotMinutes,
      doctorId: day.doctorId,
      hospitalId: day.hospitalId,
      date: day.date,
      outOfOrderCount: fairness.count,
    },
    entries,
  };
}

/** 'called' events that were out of order: a specific call of someone not at the head (it needs a reason). */
const outOfOrderCall = sql<boolean>`type = 'called' and (reason is not null or data->>'outOfOrder' = 'true')`;

/**
 * The queue's out-of-order call count and, per live appointment, its baseline (see QueueEntry.outOfOrderBase):
 * count − (out-of-order calls of others after the appointment's latest booked/walk_in event). Out-of-order
 * calls are a handful a day; the join events are read once per entry, only on a rebuild.
 */
async function outOfOrderBases(
  db: Executor,
  queueId: string,
  appointmentIds: string[],
): Promise<{ count: number; bases: Map<string, number> }> {
  const calls = await db
    .selectFrom('queueEvents')
    .select(['version', 'appointmentId'])
    .where('queueId', '=', queueId)
    .where(outOfOrderCall)
    .execute();
  const bases = new Map<string, number>();
  if (calls.length === 0 || appointmentIds.length === 0) return { count: calls.length, bases };
  const joined = await db
    .selectFrom('queueEvents')
    .select(['appointmentId', (eb) => eb.fn.max('version').as('version')])
    .where('queueId', '=', queueId)
    .where('type', 'in', ['booked', 'walk_in'])
    .where('appointmentId', 'in', appointmentIds)
    .groupBy('appointmentId')
    .execute();
  const joinedAt = new Map(joined.map((j) => [j.appointmentId, Number(j.version)]));
  for (const id of appointmentIds) {
    const since = joinedAt.get(id) ?? 0;
    const seen = calls.filter((c) => c.version > since && c.appointmentId !== id).length;
    bases.set(id, calls.length - seen);
  }
  return { count: calls.length, bases };
}

/**
 * Position key for recalling `appointmentId`: back in line right after the entry being served
 * (session_days.now_serving), within the recalled entry's own priority band, before the next waiting entry
 * of that band. When nobody is being served, when the served entry is the recalled one itself (it was
 * called, then skipped) or when it belongs to another priority band, the recall goes to the front of its
 * band. Call inside the operation's transaction, after locking the queue, store it in
 * appointments.position_key, and pass it in the `recall` op.
 */
export async function recallPositionKey(
  db: Executor,
  queueId: string,
  appointmentId: string,
): Promise<number> {
  const target = await db
    .selectFrom('appointments')
    .select(['priority', 'positionKey'])
    .where('id', '=', appointmentId)
    .where('queueId', '=', queueId)
    .executeTakeFirstOrThrow();
  const served = await db
    .selectFrom('appointments as a')
    .innerJoin('sessionDays as d', (join) =>
      join.onRef('d.id', '=', 'a.queueId').onRef('d.nowServing', '=', 'a.serial'),
    )
    .select(['a.id', 'a.priority', 'a.positionKey'])
    .where('a.queueId', '=', queueId)
    .executeTakeFirst();
  const waitingInBand = db
    .selectFrom('appointments')
    .where('queueId', '=', queueId)
    .where('status', 'in', WAITING_STATUSES)
    .where('priority', '=', target.priority)
    .where('id', '!=', appointmentId);
  let anchor: number;
  if (served && served.id !== appointmentId && served.priority === target.priority) {
    anchor = served.positionKey;
  } else {
    const first = await waitingInBand
      .select(sql<number | null>`min(position_key)`.as('key'))
      .executeTakeFirst();
    anchor = first?.key == null ? target.positionKey : Number(first.key) - 1;
  }
  const next = await waitingInBand
    .select(sql<number | null>`min(position_key)`.as('key'))
    .where('positionKey', '>', anchor)
    .executeTakeFirst();
  return keyBetween(anchor, next?.key == null ? null : Number(next.key));
}
