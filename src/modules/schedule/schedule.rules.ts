// The date rules of booking, as pure functions of a session, a date and the time: shared by availability
// (which dates to offer) and booking (why a date is refused).
import { daysBetween, isoWeekday, localInstant, minutesOf, todayIn } from './schedule.time.js';

export const REFUSAL_REASONS = [
  'past',
  'not_session_day',
  'outside_validity',
  'time_off',
  'not_open_yet',
  'booking_closed',
  'queue_closed',
  'doctor_unverified',
  'session_pending',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export interface SessionRules {
  weekday: number;
  startTime: string;
  endTime: string;
  timezone: string;
  validFrom: string | null;
  validTo: string | null;
  bookingOpensDays: number;
  bookingClosesMinutes: number;
  /** When the session's hospital (its staff or an admin) confirmed that the doctor sits there; null: pending. */
  confirmedAt: Date | null;
  /** When an admin verified the doctor; null: not yet. */
  doctorVerifiedAt: Date | null;
}

export interface DayState {
  startsAt: Date;
  status: string;
}

/** Why `date` cannot be booked now, or null when it can. */
export function bookingRefusal(
  session: SessionRules,
  date: string,
  now: Date,
  onTimeOff: boolean,
  day?: DayState,
): RefusalReason | null {
  // Checked before anything else: an unverified doctor or an unconfirmed sitting is not offered on any date.
  if (session.doctorVerifiedAt === null) return 'doctor_unverified';
  if (session.confirmedAt === null) return 'session_pending';
  const today = todayIn(session.timezone, now);
  if (date < today) return 'past';
  if (isoWeekday(date) !== session.weekday) return 'not_session_day';
  if ((session.validFrom && date < session.validFrom) || (session.validTo && date > session.validTo))
    return 'outside_validity';
  if (onTimeOff) return 'time_off';
  if (daysBetween(today, date) > session.bookingOpensDays) return 'not_open_yet';
  const startsAt = day?.startsAt ?? localInstant(date, session.startTime, session.timezone);
  if (now.getTime() >= startsAt.getTime() - session.bookingClosesMinutes * 60_000) return 'booking_closed';
  if (day && (day.status === 'closed' || day.status === 'cancelled')) return 'queue_closed';
  return null;
}

/** Default capacity: as many slots as fit between start and end. */
export function defaultCapacity(start: string, end: string, slotMinutes: number): number {
  return Math.floor((minutesOf(end) - minutesOf(start)) / slotMinutes);
}

/** Scheduled time of a serial: start + (serial − 1) × slot, counted in real minutes (DST-safe). */
export function estimatedAt(startsAt: Date, serial: number, slotMinutes: number): Date {
  return new Date(startsAt.getTime() + (serial - 1) * slotMinutes * 60_000);
}

/** A time-off range and the hospital whose desk entered it (null: the doctor or an admin, every hospital). */
export interface TimeOffRange {
  doctorId: string;
  fromDate: string;
  toDate: string;
  hospitalId?: string | null;
}

/** Does time off cover this doctor's session at `hospitalId` on `date`? A hospital's entry covers only its own. */
export function coveredByTimeOff(
  ranges: TimeOffRange[],
  doctorId: string,
  date: string,
  hospitalId?: string,
): boolean {
  return ranges.some(
    (r) =>
      r.doctorId === doctorId &&
      r.fromDate <= date &&
      r.toDate >= date &&
      (r.hospitalId == null || hospitalId === undefined || r.hospitalId === hospitalId),
  );
}
