// When a visit takes feedback: once, after it completed, for FEEDBACK_DAYS.
import { AppError } from '../../errors.js';

export const FEEDBACK_DAYS = 30;

/** The end of a completed visit's feedback window. */
export function feedbackClosesAt(completedAt: Date): Date {
  return new Date(completedAt.getTime() + FEEDBACK_DAYS * 86_400_000);
}

/** Why a visit takes no feedback now, or null when it does. */
export function feedbackRefusal(
  visit: { status: string; completedAt: Date | null },
  now: Date,
): AppError | null {
  if (visit.status !== 'completed' || !visit.completedAt)
    return new AppError('CONFLICT', 'Only a completed visit takes feedback', {
      reason: 'not_completed',
      status: visit.status,
    });
  if (now > feedbackClosesAt(visit.completedAt))
    return new AppError('CONFLICT', `Feedback is taken for ${FEEDBACK_DAYS} days after the visit`, {
      reason: 'window_closed',
    });
  return null;
}

export const alreadyGiven = () =>
  new AppError('CONFLICT', 'Feedback for this visit was already given', { reason: 'already_given' });
