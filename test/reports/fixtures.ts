// A hand-built clinic day for the report tests: appointments and their queue events written with known
// times (local Dhaka times, UTC+6), so every figure of the report can be worked out on paper.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { insertSessionDay } from '../helpers/clinic.js';

export interface VisitSpec {
  serial: number;
  kind?: 'booked' | 'walk_in';
  status: 'completed' | 'no_show' | 'cancelled' | 'booked';
  /** Local 'HH:MM' on the day; scheduled defaults to the session start + (serial − 1) slots. */
  scheduled?: string;
  checkedIn?: string;
  called?: string;
  completed?: string;
  /** The ETA shown at check-in (or walk-in), with its range when one was shown. */
  eta?: string;
  range?: [string, string];
  /** Who cancelled: a user id, or null for the system. */
  cancelledBy?: string | null;
}

export interface DaySpec {
  sessionId: string;
  doctorId: string;
  hospitalId: string;
  date: string;
  /** Local 'HH:MM'. */
  start: string;
  end: string;
  slotMinutes: number;
  visits: VisitSpec[];
}

/** Local 'HH:MM' on a Dhaka date → the instant. */
export const dhaka = (date: string, hhmm: string) => new Date(`${date}T${hhmm}:00+06:00`);

/** Writes the day, its appointments and the queue events the ledger would have written; returns the queueId. */
export async function insertHandBuiltDay(app: FastifyInstance, spec: DaySpec): Promise<string> {
  const at = (hhmm: string | undefined) => (hhmm ? dhaka(spec.date, hhmm) : null);
  const startsAt = dhaka(spec.date, spec.start);
  const queueId = await insertSessionDay(app, {
    sessionId: spec.sessionId,
    doctorId: spec.doctorId,
    hospitalId: spec.hospitalId,
    date: spec.date,
    startsAt,
    endsAt: dhaka(spec.date, spec.end),
    capacity: 18,
    slotMinutes: spec.slotMinutes,
    bookedCount: spec.visits.length,
    status: 'closed',
  });
  let version = 0;
  const events: {
    queueId: string;
    version: number;
    type: string;
    appointmentId: string;
    serial: number;
    actorId: string | null;
    data: string | null;
    at: Date;
  }[] = [];
  for (const v of spec.visits) {
    const scheduled =
      at(v.scheduled) ?? new Date(startsAt.getTime() + (v.serial - 1) * spec.slotMinutes * 60_000);
    const cancelledAt = v.status === 'cancelled' ? dhaka(spec.date, '08:00') : null;
    const row = await app.db
      .insertInto('appointments')
      .values({
        queueId,
        doctorId: spec.doctorId,
        date: spec.date,
        serial: v.serial,
        kind: v.kind ?? 'booked',
        positionKey: v.serial,
        status: v.status,
        estimatedAt: scheduled,
        trackingTokenHash: randomBytes(16).toString('hex'),
        walkInName: v.kind === 'walk_in' ? 'Walk-in' : null,
        checkedInAt: at(v.checkedIn),
        calledAt: at(v.called),
        completedAt: at(v.completed),
        noShowAt: v.status === 'no_show' ? dhaka(spec.date, '11:00') : null,
        cancelledAt,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const event = (type: string, when: Date, data: unknown = null, actorId: string | null = null) =>
      events.push({
        queueId,
        version: ++version,
        type,
        appointmentId: row.id,
        serial: v.serial,
        actorId,
        data: data === null ? null : JSON.stringify(data),
        at: when,
      });
    if (v.kind !== 'walk_in') event('booked', dhaka(spec.date, '07:00'));
    const shown = {
      etaAt: v.eta ? dhaka(spec.date, v.eta).toISOString() : null,
      etaRange: v.range
        ? { from: dhaka(spec.date, v.range[0]).toISOString(), to: dhaka(spec.date, v.range[1]).toISOString() }
        : null,
    };
    const checkedIn = at(v.checkedIn);
    if (checkedIn) {
      if (v.kind === 'walk_in') event('walk_in', checkedIn, { priority: 0, etaAt: shown.etaAt });
      else event('checked_in', checkedIn, { ...shown, position: 0 });
    }
    const called = at(v.called);
    if (called) event('called', called, { outOfOrder: false, scheduledAt: scheduled.toISOString() });
    const completed = at(v.completed);
    if (completed && called)
      event('completed', completed, { consultSeconds: (completed.getTime() - called.getTime()) / 1000 });
    if (v.status === 'no_show') event('no_show', dhaka(spec.date, '11:00'));
    if (cancelledAt) event('cancelled', cancelledAt, null, v.cancelledBy ?? null);
  }
  if (events.length > 0) {
    await app.db
      .insertInto('queueEvents')
      .values(events as never)
      .execute();
    await app.db.updateTable('sessionDays').set({ version }).where('id', '=', queueId).execute();
  }
  return queueId;
}
