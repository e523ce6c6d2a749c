// The queue row of a session day, created on its first booking (or a reschedule into it).
import type { Executor } from '../../db/database.js';
import * as repo from './schedule.repository.js';
import { localInstant } from './schedule.time.js';

/**
 * Creates the queue (session day) row of `session` on local `date` if it does not exist yet, with its start
 * and end as instants in the hospital's zone, and returns its id. Safe under concurrency: racing callers
 * get the same row.
 */
export async function ensureSessionDay(
  trx: Executor,
  session: Pick<
    repo.SessionRow,
    'id' | 'doctorId' | 'hospitalId' | 'startTime' | 'endTime' | 'capacity' | 'slotMinutes' | 'timezone'
  >,
  date: string,
): Promise<string> {
  const existing = await repo.findSessionDay(trx, session.id, date);
  if (existing) return existing.id;
  const inserted = await repo.insertSessionDayIfMissing(trx, {
    sessionId: session.id,
    doctorId: session.doctorId,
    hospitalId: session.hospitalId,
    date,
    startsAt: localInstant(date, session.startTime, session.timezone),
    endsAt: localInstant(date, session.endTime, session.timezone),
    capacity: session.capacity,
    slotMinutes: session.slotMinutes,
  });
  if (inserted) return inserted.id;
  const raced = await repo.findSessionDay(trx, session.id, date);
  if (!raced) throw new Error('session day vanished after a conflicting insert');
  return raced.id;
}
