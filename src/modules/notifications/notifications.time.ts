// Local-time rules for messages: quiet hours and reminder send times, computed in the hospital's zone so a
// daylight-saving change neither moves nor duplicates anything.
import { DateTime } from 'luxon';

const MINUTES_PER_DAY = 1440;

/** 'HH:MM' or 'HH:MM:SS' → minutes after midnight. */
export function clockMinutes(time: string): number {
  const [h, m] = time.split(':').map(Number);
  return h * 60 + m;
}

export interface QuietHours {
  start: string;
  end: string;
}

/**
 * The first instant at or after `at` that is outside quiet hours in `zone`. A window whose start is after its
 * end wraps midnight (21:00–08:00); equal start and end means no quiet hours.
 */
export function afterQuietHours(at: Date, zone: string, quiet: QuietHours): Date {
  const start = clockMinutes(quiet.start);
  const end = clockMinutes(quiet.end);
  if (start === end) return at;
  const local = DateTime.fromJSDate(at, { zone });
  const minute = local.hour * 60 + local.minute;
  const wraps = start > end;
  const inside = wraps ? minute >= start || minute < end : minute >= start && minute < end;
  if (!inside) return at;
  const endOfQuiet = local.set({ hour: Math.floor(end / 60), minute: end % 60, second: 0, millisecond: 0 });
  const resume = wraps && minute >= start ? endOfQuiet.plus({ days: 1 }) : endOfQuiet;
  return resume.toJSDate();
}

export function isQuiet(at: Date, zone: string, quiet: QuietHours): boolean {
  return afterQuietHours(at, zone, quiet).getTime() !== at.getTime();
}

/**
 * When a reminder `offsetMinutes` before `estimatedAt` goes out. Whole days are calendar days in the
 * hospital's zone ("24 h before" a 10:00 visit is 10:00 the day before, even across a DST change); other
 * offsets are exact durations.
 */
export function reminderTime(estimatedAt: Date, offsetMinutes: number, zone: string): Date {
  if (offsetMinutes % MINUTES_PER_DAY === 0) {
    return DateTime.fromJSDate(estimatedAt, { zone })
      .minus({ days: offsetMinutes / MINUTES_PER_DAY })
      .toJSDate();
  }
  return new Date(estimatedAt.getTime() - offsetMinutes * 60_000);
}

/**
 * The estimated times whose `offsetMinutes` reminder falls due in (from, to]: the inverse of reminderTime
 * (monotonic in the estimate), widened by a minute on each side.
 */
export function estimatesWithReminderIn(
  from: Date,
  to: Date,
  offsetMinutes: number,
  zone: string,
): [Date, Date] {
  const later = (t: Date) =>
    offsetMinutes % MINUTES_PER_DAY === 0
      ? DateTime.fromJSDate(t, { zone })
          .plus({ days: offsetMinutes / MINUTES_PER_DAY })
          .toJSDate()
      : new Date(t.getTime() + offsetMinutes * 60_000);
  return [new Date(later(from).getTime() - 60_000), new Date(later(to).getTime() + 60_000)];
}

/** A short label for an offset: 1440 → '24h', 90 → '90m'. */
export function offsetLabel(offsetMinutes: number): string {
  return offsetMinutes % 60 === 0 ? `${offsetMinutes / 60}h` : `${offsetMinutes}m`;
}
