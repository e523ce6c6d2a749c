// What a session edit may be: its shape, and which active appointments it would invalidate.
import { AppError } from '../../errors.js';
import type * as repo from './schedule.repository.js';
import { defaultCapacity } from './schedule.rules.js';

type SessionRow = repo.SessionRow;

function sameRange(a: string, b: string): boolean {
  return a.slice(0, 5) === b.slice(0, 5);
}

export function validateSessionShape(s: repo.SessionInsert): void {
  const problems: { field: string; message: string }[] = [];
  if (s.endTime <= s.startTime) problems.push({ field: 'body.end', message: 'must be after start' });
  else if (defaultCapacity(s.startTime, s.endTime, s.slotMinutes) < 1)
    problems.push({ field: 'body.slotMinutes', message: 'is longer than the session' });
  if (s.validFrom && s.validTo && s.validTo < s.validFrom)
    problems.push({ field: 'body.validTo', message: 'must not be before validFrom' });
  if (problems.length > 0)
    throw new AppError('VALIDATION_FAILED', `${problems[0].field} ${problems[0].message}`, problems);
}

/**
 * Active appointments an edit would invalidate: all of a date that leaves the session (weekday, validity),
 * all whose times move (hospital, start, end, slot), and on each remaining day the latest bookings beyond
 * a lowered capacity.
 */
export function affectedByEdit(
  before: SessionRow,
  after: repo.SessionInsert,
  active: { id: string; date: string; serial: number; queueId: string }[],
): { id: string; queueId: string }[] {
  const moved =
    after.hospitalId !== before.hospitalId ||
    !sameRange(after.startTime, before.startTime) ||
    !sameRange(after.endTime, before.endTime) ||
    after.slotMinutes !== before.slotMinutes ||
    after.weekday !== before.weekday;
  const out: { id: string; queueId: string }[] = [];
  const perDay = new Map<string, typeof active>();
  for (const a of active) perDay.set(a.date, [...(perDay.get(a.date) ?? []), a]);
  for (const [date, list] of perDay) {
    const invalidDate =
      (after.validFrom && date < after.validFrom) || (after.validTo && date > after.validTo);
    if (moved || invalidDate) {
      out.push(...list.map(({ id, queueId }) => ({ id, queueId })));
      continue;
    }
    if (list.length > after.capacity) {
      const sorted = [...list].sort((a, b) => a.serial - b.serial);
      out.push(...sorted.slice(after.capacity).map(({ id, queueId }) => ({ id, queueId })));
    }
  }
  return out;
}
