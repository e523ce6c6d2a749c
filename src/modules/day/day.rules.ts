// The rules of a session day as plain data and pure functions: the appointment state machine, which queue
// statuses pause/resume start from, when a day takes operations, who call-next passes over, and the time a
// patient is told. The ledger (day.ledger.ts) gathers the facts, asks these, and writes.
import { DateTime } from 'luxon';
import { AppError } from '../../errors.js';
import type { AppointmentStatus } from '../appointments/appointments.table.js';
import { etaStart, type QueueMeta } from '../queue/queue.store.js';
import type { QueueStatus } from '../queue/queue.table.js';

export const ENTRY_ACTIONS = ['check-in', 'call', 'complete', 'skip', 'no-show', 'recall'] as const;
export type EntryAction = (typeof ENTRY_ACTIONS)[number];

/** Statuses that hold a place in the waiting line. */
export const WAITING = ['booked', 'confirmed', 'checked_in'] as const satisfies readonly AppointmentStatus[];

/** Statuses a cancel (or a schedule change) may take an appointment out of. */
export const CANCELLABLE = WAITING;

/** Position (entries ahead) at or below which a waiting patient is told their turn is near. @default 3 */
export const TURN_NEAR_POSITION = 3;

/**
 * "Arrive by" updates are weighed for this many patients at the front of the line on each change: those who
 * will be needed soonest. A patient further back hears once they reach it (at an average consult of five
 * minutes, well over an hour ahead), which keeps a change's cost independent of the queue's length.
 * @default 20
 */
export const ARRIVE_BY_WINDOW = 20;

/** What call-next (and calling out of order) does with the patient still being served. @default 'complete' */
export const PREVIOUS_OUTCOMES = ['complete', 'skip', 'no-show'] as const;
export type PreviousOutcome = (typeof PREVIOUS_OUTCOMES)[number];

/**
 * A booked patient who has not checked in is passed over by call-next once this long past their
 * scheduled time; they keep their place and are called as soon as they check in (or by a recall).
 * @default 10
 */
export const PASS_OVER_GRACE_MINUTES = 10;

/** Which appointment statuses each action starts from, and the words of its refusal. */
export const ENTRY_TRANSITIONS: Record<
  EntryAction | 'confirm' | 'cancel',
  { from: readonly AppointmentStatus[]; verb: string }
> = {
  'check-in': { from: ['booked', 'confirmed'], verb: 'check in' },
  call: { from: [...WAITING, 'skipped'], verb: 'call' },
  complete: { from: ['called'], verb: 'complete' },
  skip: { from: ['called'], verb: 'skip' },
  'no-show': { from: [...WAITING, 'called', 'skipped'], verb: 'mark as no-show' },
  recall: { from: ['skipped'], verb: 'recall' },
  confirm: { from: ['booked'], verb: 'confirm' },
  cancel: { from: CANCELLABLE, verb: 'cancel' },
};

/** Which queue statuses pause and resume start from (close is refused only by the open-day check). */
export const QUEUE_TRANSITIONS: Record<'pause' | 'resume', readonly QueueStatus[]> = {
  pause: ['open'],
  resume: ['paused'],
};

export function invalid(from: string, action: string): AppError {
  return new AppError('INVALID_TRANSITION', `Cannot ${action} an entry that is ${from}`, { from });
}

export function assertEntryTransition(action: keyof typeof ENTRY_TRANSITIONS, from: AppointmentStatus): void {
  const rule = ENTRY_TRANSITIONS[action];
  if (!rule.from.includes(from)) throw invalid(from, rule.verb);
}

export function assertQueueTransition(action: 'pause' | 'resume', from: QueueStatus): void {
  if (!QUEUE_TRANSITIONS[action].includes(from)) throw invalid(from, action);
}

/**
 * Why a day takes no queue operation now, or null: closed or cancelled days take none; operations run only
 * on the day's own local date; a paused day takes everything but calls.
 */
export function dayClosedReason(
  day: { status: QueueStatus; date: string; timezone: string },
  now: Date,
  calling: boolean,
): AppError | null {
  if (day.status === 'closed' || day.status === 'cancelled')
    return new AppError('QUEUE_NOT_OPEN', `This queue is ${day.status}`);
  const today = DateTime.fromJSDate(now, { zone: day.timezone }).toISODate();
  if (today !== null && today < day.date)
    return new AppError('QUEUE_NOT_OPEN', `This queue opens on ${day.date}`, { date: day.date });
  if (today !== null && today > day.date)
    return new AppError('QUEUE_NOT_OPEN', `This queue was for ${day.date}`, { date: day.date });
  if (calling && day.status === 'paused')
    return new AppError('QUEUE_NOT_OPEN', 'This queue is paused; resume it before calling', {
      status: 'paused',
    });
  return null;
}

/** The stage a waiting appointment shows: checked in, else confirmed, else booked. */
export function stageOf(row: {
  checkedInAt: Date | null;
  confirmedAt: Date | null;
}): 'booked' | 'confirmed' | 'checked_in' {
  return row.checkedInAt ? 'checked_in' : row.confirmedAt ? 'confirmed' : 'booked';
}

/** The instant before which a not-checked-in patient's scheduled time counts as passed over. */
export function passOverBefore(now: Date): Date {
  return new Date(now.getTime() - PASS_OVER_GRACE_MINUTES * 60_000);
}

/**
 * The time a patient is told when they take a place: the live estimate (everyone ahead × the queue's
 * average consult, from etaStart: now, or the end of a pause), never before now and never before the
 * slot's own time. The same formula the tracking page uses (etaAt in queue.store.ts).
 */
export function liveEstimate(input: {
  now: Date;
  slotAt: Date;
  ahead: number | null;
  meta: Pick<QueueMeta, 'status' | 'pausedUntil' | 'pausedAt' | 'avgConsultSeconds'> | null;
}): Date {
  const { meta } = input;
  let at = meta ? etaStart(meta, input.now) : input.now.getTime();
  if (meta && input.ahead !== null) at += input.ahead * meta.avgConsultSeconds * 1000;
  return new Date(Math.max(at, input.slotAt.getTime(), input.now.getTime()));
}
