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
  const day = new Date(utcMidnight(date)).getUTCDay();
  return day === 0 ? 7 : day;
}

const DAY_MS = 86_400_000;

/** Milliseconds of 'YYYY-MM-DD' at 00:00 UTC: plain calendar arithmetic (hot in availability loops). */
function utcMidnight(date: string): number {
  const ms = Date.UTC(Number(date.slice(0, 4)), Number(date.slice(5, 7)) - 1, Number(date.slice(8, 10)));
  if (date.length !== 10 || Number.isNaN(ms)) throw new Error(`invalid local date ${date}`);
  return ms;
}

const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The local date in `zone` at `now` ('YYYY-MM-DD'; the en-CA format is ISO order). */
export function todayIn(zone: string, now: Date): string {
  let format = dayFormats.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-CA', {
      timeZone: zone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
    });
    dayFormats.set(zone, format);
  }
  return format.format(now);
}

export function addDays(date: string, days: number): string {
  return new Date(utcMidnight(date) + days * DAY_MS).toISOString().slice(0, 10);
}

/** Whole days from `a` to `b` (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((utcMidnight(b) - utcMidnight(a)) / DAY_MS);
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
