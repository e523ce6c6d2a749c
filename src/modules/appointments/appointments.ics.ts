// An appointment as an iCalendar file in the hospital's zone, with a VTIMEZONE built from Luxon's zone data.
import ical, { ICalEventStatus } from 'ical-generator';
import { DateTime } from 'luxon';
import type { AppointmentDetail } from './appointments.repository.js';

function offset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}${String(abs % 60).padStart(2, '0')}`;
}

function localStamp(dt: DateTime): string {
  return dt.toFormat("yyyyMMdd'T'HHmmss");
}

/** VTIMEZONE for `zone` with every offset change from a year before to two years after `around`. */
export function vtimezone(zone: string, around: Date): string {
  const year = DateTime.fromJSDate(around, { zone }).year;
  let at = DateTime.fromObject({ year: year - 1, month: 1, day: 1 }, { zone });
  const end = DateTime.fromObject({ year: year + 2, month: 1, day: 1 }, { zone });
  const lines = ['BEGIN:VTIMEZONE', `TZID:${zone}`];
  const component = (kind: 'STANDARD' | 'DAYLIGHT', start: DateTime, from: number, to: number) =>
    lines.push(
      `BEGIN:${kind}`,
      `DTSTART:${localStamp(start)}`,
      `TZOFFSETFROM:${offset(from)}`,
      `TZOFFSETTO:${offset(to)}`,
      `TZNAME:${start.setZone(zone).plus({ hours: 1 }).offsetNameShort ?? zone}`,
      `END:${kind}`,
    );
  component(at.isInDST ? 'DAYLIGHT' : 'STANDARD', at, at.offset, at.offset);
  while (at < end) {
    const next = at.plus({ days: 1 });
    if (next.offset !== at.offset) {
      // Narrow the change down to the minute, then describe it in the wall time before it.
      let lo = at.toMillis();
      let hi = next.toMillis();
      while (hi - lo > 60_000) {
        const mid = Math.floor((lo + hi) / 2 / 60_000) * 60_000;
        if (DateTime.fromMillis(mid, { zone }).offset === at.offset) lo = mid;
        else hi = mid;
      }
      const after = DateTime.fromMillis(hi, { zone });
      const wallBefore = DateTime.fromMillis(hi, { zone: 'UTC' }).plus({ minutes: at.offset });
      component(after.isInDST ? 'DAYLIGHT' : 'STANDARD', wallBefore, at.offset, after.offset);
    }
    at = next;
  }
  lines.push('END:VTIMEZONE');
  return lines.join('\r\n');
}

export function appointmentCalendar(a: AppointmentDetail, publicUrl: string): string {
  const calendar = ical({
    name: 'CareQueue appointment',
    prodId: { company: 'CareQueue', product: 'carequeue' },
  });
  calendar.timezone({ name: a.timezone, generator: (zone) => vtimezone(zone, a.estimatedAt) });
  const start = DateTime.fromJSDate(a.estimatedAt, { zone: a.timezone });
  calendar.createEvent({
    id: `${a.id}@carequeue`,
    start,
    end: start.plus({ minutes: a.slotMinutes }),
    timezone: a.timezone,
    summary: `${a.doctorName} · serial ${a.serial}`,
    location: [a.hospitalName, a.room ? `room ${a.room}` : null, a.hospitalAddress || null, a.hospitalCity]
      .filter(Boolean)
      .join(', '),
    description: `Serial ${a.serial} with ${a.doctorName} at ${a.hospitalName}. The time is an estimate; follow the live queue in CareQueue.`,
    url: `${publicUrl}/appointments/${a.id}`,
    status: a.status === 'cancelled' ? ICalEventStatus.CANCELLED : ICalEventStatus.CONFIRMED,
  });
  return calendar.toString();
}
