// The booking refusals of the day ledger with their documented codes, and the constraint race that maps to ALREADY_BOOKED.
import { AppError } from '../../errors.js';

/** Postgres unique violation on a named constraint or index (pg and PGlite both carry `constraint`). */
export function uniqueViolation(err: unknown, name: string): boolean {
  const e = err as { code?: string; constraint?: string; message?: string } | null;
  return e?.code === '23505' && (e.constraint === name || (e.message ?? '').includes(name));
}

/** Thrown when the Idempotency-Key was claimed first: the booking answers with that claim's result. */
export class Replay {
  constructor(readonly key: string) {}
}

export function alreadyBooked(appointmentId?: string): AppError {
  return new AppError(
    'ALREADY_BOOKED',
    'This patient already has an appointment with this doctor that day',
    appointmentId ? { appointmentId } : undefined,
  );
}

export function sessionFull(queueId: string): AppError {
  return new AppError('SESSION_FULL', 'This session is full on that date', { queueId, waitlist: true });
}

export function notBookable(reason: string): AppError {
  const messages: Record<string, string> = {
    past: 'That date has passed',
    not_session_day: 'The doctor has no such session on that weekday',
    outside_validity: 'The session does not run on that date',
    time_off: 'The doctor is away on that date',
    not_open_yet: 'Booking for that date has not opened yet',
    booking_closed: 'Booking for that session has closed',
    queue_closed: 'That day’s queue is closed',
  };
  return new AppError('DATE_NOT_BOOKABLE', messages[reason] ?? 'That date cannot be booked', { reason });
}
