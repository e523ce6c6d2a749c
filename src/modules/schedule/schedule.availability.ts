// Availability: the bookable (session, date) pairs with their remaining places, for one doctor's calendar,
// for one day across doctors, and as the alternatives a full session offers.
import type { Static } from '@sinclair/typebox';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import * as repo from './schedule.repository.js';
import { bookingRefusal, coveredByTimeOff, estimatedAt } from './schedule.rules.js';
import type { DayAvailabilityQuerySchema } from './schedule.schema.js';
import { addDays, daysBetween, isoWeekday, localInstant, toZonedIso } from './schedule.time.js';

export const MAX_AVAILABILITY_DAYS = 62;

export interface AvailabilityDeps {
  db: DB;
  clock: Clock;
  /** Throws NOT_FOUND for an unknown doctor. */
  requireDoctor(id: string): Promise<unknown>;
}

type SessionRow = repo.SessionRow;

export type Opening = ReturnType<typeof toOpening>;

function toOpening(
  s: SessionRow,
  date: string,
  day: Awaited<ReturnType<typeof repo.sessionDaysInRange>>[number] | undefined,
  held: number,
) {
  const startsAt = day?.startsAt ?? localInstant(date, s.startTime, s.timezone);
  const endsAt = day?.endsAt ?? localInstant(date, s.endTime, s.timezone);
  const capacity = day?.capacity ?? s.capacity;
  const booked = day?.bookedCount ?? 0;
  const remaining = Math.max(0, capacity - booked - held);
  const nextSerial = remaining > 0 ? (day?.nextSerial ?? 1) : null;
  const slot = day?.slotMinutes ?? s.slotMinutes;
  return {
    sessionId: s.id,
    doctorId: s.doctorId,
    queueId: day?.id ?? null,
    date,
    start: toZonedIso(startsAt, s.timezone),
    end: toZonedIso(endsAt, s.timezone),
    capacity,
    booked,
    remaining,
    nextSerial,
    nextEstimatedAt:
      nextSerial === null ? null : toZonedIso(estimatedAt(startsAt, nextSerial, slot), s.timezone),
    fee: Number(s.fee),
    hospital: { id: s.hospitalId, name: s.hospitalName, city: s.hospitalCity },
    room: s.room,
  };
}

export class ScheduleAvailability {
  constructor(private readonly deps: AvailabilityDeps) {}

  private get db() {
    return this.deps.db;
  }

  /** Per date and session of one doctor: the places still offered, within the booking window. */
  async doctorAvailability(doctorId: string, from: string, to: string) {
    await this.deps.requireDoctor(doctorId);
    if (to < from) {
      throw new AppError('VALIDATION_FAILED', 'to must not be before from', [
        { field: 'querystring.to', message: 'must not be before from' },
      ]);
    }
    if (daysBetween(from, to) >= MAX_AVAILABILITY_DAYS) {
      throw new AppError('VALIDATION_FAILED', `At most ${MAX_AVAILABILITY_DAYS} days at a time`, [
        { field: 'querystring.to', message: `at most ${MAX_AVAILABILITY_DAYS - 1} days after from` },
      ]);
    }
    const sessions = await repo.listDoctorSessions(this.db, doctorId);
    return { items: await this.openings(sessions, from, to), nextCursor: null };
  }

  /**
   * The serials a patient may still choose in one session on one date, with their scheduled times. The date
   * is refused as booking refuses it (DATE_NOT_BOOKABLE with the same reason); a full day (held waitlist
   * offers included) has none; a serial once handed out is never offered again.
   */
  async freeSerials(sessionId: string, date: string) {
    const session = await repo.findSession(this.db, sessionId);
    if (!session) throw notFound('Session');
    const now = this.deps.clock.now();
    const [day, timeOff] = await Promise.all([
      repo.findSessionDay(this.db, sessionId, date),
      repo.timeOffOverlapping(this.db, [session.doctorId], date, date, session.hospitalId),
    ]);
    const onTimeOff = coveredByTimeOff(timeOff, session.doctorId, date, session.hospitalId);
    const refusal = bookingRefusal(session, date, now, onTimeOff, day);
    if (refusal) throw new AppError('DATE_NOT_BOOKABLE', 'That date cannot be booked', { reason: refusal });
    const [held, taken] = day
      ? await Promise.all([repo.heldOffers(this.db, [day.id], now), repo.takenSerials(this.db, day.id)])
      : [new Map<string, number>(), new Set<number>()];
    const opening = toOpening(session, date, day, day ? (held.get(day.id) ?? 0) : 0);
    if (opening.remaining <= 0) return { items: [], nextCursor: null };
    const startsAt = day?.startsAt ?? localInstant(date, session.startTime, session.timezone);
    const slot = day?.slotMinutes ?? session.slotMinutes;
    const items: { serial: number; estimatedAt: string }[] = [];
    for (let serial = 1; serial <= opening.capacity; serial++) {
      if (taken.has(serial)) continue;
      const at = new Date(Math.max(estimatedAt(startsAt, serial, slot).getTime(), now.getTime()));
      items.push({ serial, estimatedAt: toZonedIso(at, session.timezone) });
    }
    return { items, nextCursor: null };
  }

  /** The calendar view: sessions with room on one date, across doctors. */
  async dayAvailability(query: Static<typeof DayAvailabilityQuerySchema>) {
    const sessions = await repo.sessionsForDay(this.db, isoWeekday(query.date), {
      city: query.city,
      specialization: query.specialization,
      serviceId: query.serviceId,
    });
    const names = new Map(sessions.map((s) => [s.id, s.doctorName]));
    const open = (await this.openings(sessions, query.date, query.date)).filter((o) => o.remaining > 0);
    const offset = decodeOffset(query.cursor);
    const limit = query.limit ?? 20;
    const page = open.slice(offset, offset + limit);
    return {
      items: page.map((o) => ({ ...o, doctor: { id: o.doctorId, name: names.get(o.sessionId) ?? '' } })),
      nextCursor: offset + limit < open.length ? String(offset + limit) : null,
    };
  }

  /** Bookable (session, date) pairs in [from, to], with counts from their queues and held waitlist offers. */
  async openings(sessions: SessionRow[], from: string, to: string): Promise<Opening[]> {
    if (sessions.length === 0) return [];
    const now = this.deps.clock.now();
    const doctorIds = [...new Set(sessions.map((s) => s.doctorId))];
    const [days, timeOff] = await Promise.all([
      repo.sessionDaysInRange(
        this.db,
        sessions.map((s) => s.id),
        from,
        to,
      ),
      repo.timeOffOverlapping(this.db, doctorIds, from, to),
    ]);
    const held = await repo.heldOffers(
      this.db,
      days.map((d) => d.id),
      now,
    );
    const dayOf = new Map(days.map((d) => [`${d.sessionId}|${d.date}`, d]));
    const result: Opening[] = [];
    for (let date = from; date <= to; date = addDays(date, 1)) {
      const weekday = isoWeekday(date);
      for (const s of sessions) {
        if (s.weekday !== weekday) continue;
        const day = dayOf.get(`${s.id}|${date}`);
        const onTimeOff = coveredByTimeOff(timeOff, s.doctorId, date, s.hospitalId);
        const refusal = bookingRefusal(s, date, now, onTimeOff, day);
        if (refusal) continue;
        result.push(toOpening(s, date, day, day ? (held.get(day.id) ?? 0) : 0));
      }
    }
    result.sort((a, b) => (a.date === b.date ? a.start.localeCompare(b.start) : a.date < b.date ? -1 : 1));
    return result;
  }

  /** What a full session offers instead: the doctor's next dates with room, and other doctors that day. */
  async alternatives(session: SessionRow, date: string) {
    const sessions = await repo.listDoctorSessions(this.db, session.doctorId);
    const from = addDays(date, 1);
    const later = await this.openings(sessions, from, addDays(from, MAX_AVAILABILITY_DAYS - 1));
    const dates: string[] = [];
    for (const o of later) {
      if (o.remaining > 0 && !dates.includes(o.date)) dates.push(o.date);
      if (dates.length >= 5) break;
    }
    const specializationIds = await repo.specializationIdsOf(this.db, session.doctorId);
    const others = await repo.sessionsForDay(this.db, isoWeekday(date), {
      specializationIds,
      excludeDoctorId: session.doctorId,
    });
    const names = new Map(others.map((s) => [s.doctorId, s.doctorName]));
    const doctors: {
      id: string;
      name: string;
      sessionId: string;
      remaining: number;
      hospital: Opening['hospital'];
    }[] = [];
    for (const o of await this.openings(others, date, date)) {
      if (o.remaining <= 0 || doctors.some((d) => d.id === o.doctorId)) continue;
      doctors.push({
        id: o.doctorId,
        name: names.get(o.doctorId) ?? '',
        sessionId: o.sessionId,
        remaining: o.remaining,
        hospital: o.hospital,
      });
      if (doctors.length >= 5) break;
    }
    return { dates, doctors };
  }
}

function decodeOffset(cursor: string | undefined): number {
  if (!cursor) return 0;
  const n = Number(cursor);
  if (!Number.isInteger(n) || n < 0) throw new AppError('VALIDATION_FAILED', 'cursor is invalid');
  return n;
}
