// Local dates and clock times in a hospital's IANA zone, turned into instants with Luxon (daylight-saving safe).
import { DateTime } from 'luxon';

/** 'HH:MM' or 'HH:MM:SS' on a local date in `zone` → the instant; a time in a spring-forward gap moves forward. */
export function localInstant(date: string, time: string, zone: string): Date {
  const dt = DateTime.fromISO(`${date}T${time.length === 5 ? `${time}:00` : time}`, { zone });
  if (!dt.isValid) throw new Error(`invalid local time ${date} ${time} in ${zone}`);
  return dt.toJSDate();
}

/** ISO weekday of a local date: 1 = Monday … 7 = Sunday. */
export function isoWeekday(date: string): number {
  return DateTime.fromISO(date, { zone: 'UTC' }).weekday;
}

export function todayIn(zone: string, now: Date): string {
  return DateTime.fromJSDate(now, { zone }).toISODate() as string;
}

export function addDays(date: string, days: number): string {
  return DateTime.fromISO(date, { zone: 'UTC' }).plus({ days }).toISODate() as string;
}

/** Whole days from `a` to `b` (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round(
    DateTime.fromISO(b, { zone: 'UTC' }).diff(DateTime.fromISO(a, { zone: 'UTC' }), 'days').days,
  );
}

/** An instant as ISO-8601 with the hospital's offset, e.g. 2025-03-30T03:00:00+02:00. */
export function toZonedIso(at: Date, zone: string): string {
  return DateTime.fromJSDate(at, { zone }).toISO({ suppressMilliseconds: true }) as string;
}

/** 'HH:MM:SS' from the database → 'HH:MM'. */
export function hhmm(time: string): string {
  return time.slice(0, 5);
}

export function minutesOf(time: string): number {
  const [h, m] = time.split(':').map(Number);
  return h * 60 + m;
}

export function isValidZone(zone: string): boolean {
  return DateTime.local().setZone(zone).isValid;
}
