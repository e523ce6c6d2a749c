// Weekly sessions and time off: who may change them, overlap checks, and the appointments a change cancels.
// Availability lives in schedule.availability.ts; the bookings a change cancels are cancelled by the day ledger.
import type { Static } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database, DB, Executor } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { DomainEvents, Emit } from '../../events.js';
import type { Principal } from '../../plugins/auth.js';
import type { DayBookings } from '../day/day.bookings.js';
import { ScheduleAvailability } from './schedule.availability.js';
import { affectedByEdit, validateSessionShape } from './schedule.edit-rules.js';
import * as repo from './schedule.repository.js';
import { defaultCapacity } from './schedule.rules.js';
import type { SessionCreateSchema, SessionUpdateSchema, TimeOffCreateSchema } from './schedule.schema.js';
import { daysBetween, hhmm, localInstant, todayIn } from './schedule.time.js';

/** Why appointments are being cancelled by a schedule change (carried on appointment.cancelled). */
export type ScheduleCancelKind = 'time_off' | 'session_changed' | 'session_deleted';

export interface ScheduleDeps {
  db: DB;
  clock: Clock;
  events: DomainEvents;
  /** The day ledger cancels the bookings a schedule change takes away (one lock order, one write path). */
  ledger: Pick<DayBookings, 'cancelMany' | 'reshape'>;
}

type SessionRow = repo.SessionRow;

export function toSessionView(s: SessionRow) {
  return {
    id: s.id,
    doctorId: s.doctorId,
    hospitalId: s.hospitalId,
    hospital: { id: s.hospitalId, name: s.hospitalName, city: s.hospitalCity, timezone: s.timezone },
    weekday: s.weekday,
    start: hhmm(s.startTime),
    end: hhmm(s.endTime),
    slotMinutes: s.slotMinutes,
    capacity: s.capacity,
    fee: Number(s.fee),
    room: s.room,
    validFrom: s.validFrom,
    validTo: s.validTo,
    bookingOpensDays: s.bookingOpensDays,
    bookingClosesMinutes: s.bookingClosesMinutes,
    status: s.confirmedAt ? ('confirmed' as const) : ('pending' as const),
    confirmedAt: s.confirmedAt ? s.confirmedAt.toISOString() : null,
  };
}

export function toTimeOffView(t: {
  id: string;
  doctorId: string;
  hospitalId: string | null;
  fromDate: string;
  toDate: string;
  reason: string;
  createdAt: Date;
}) {
  return {
    id: t.id,
    doctorId: t.doctorId,
    hospitalId: t.hospitalId,
    from: t.fromDate,
    to: t.toDate,
    reason: t.reason,
    createdAt: t.createdAt.toISOString(),
  };
}

export class ScheduleService {
  readonly availability: ScheduleAvailability;

  constructor(private readonly deps: ScheduleDeps) {
    this.availability = new ScheduleAvailability({
      db: deps.db,
      clock: deps.clock,
      requireDoctor: (id) => this.requireDoctor(id),
    });
  }

  private get db() {
    return this.deps.db;
  }

  /** Tells the directory, once committed, that this doctor's sittings changed (profiles show their hospitals). */
  private changed<T>(doctorId: string, result: T): Promise<T> {
    return this.deps.events.dispatchCommitted('schedule.changed', { doctorId }).then(() => result);
  }

  private async requireDoctor(id: string) {
    const doctor = await repo.findDoctor(this.db, id);
    if (!doctor) throw notFound('Doctor');
    return doctor;
  }

  /** Doctor themself, admin, or staff of the hospital concerned. */
  private assertManages(principal: Principal, doctorId: string, hospitalIds: (string | undefined)[]): void {
    if (principal.role === 'admin') return;
    if (principal.role === 'doctor' && principal.doctorId === doctorId) return;
    if (
      principal.role === 'staff' &&
      principal.hospitalId !== null &&
      hospitalIds.length > 0 &&
      hospitalIds.every((h) => h === principal.hospitalId)
    )
      return;
    throw forbidden('Only the doctor, an admin or staff of that hospital may change this schedule');
  }

  /** A live session with its hospital, for other modules (in their transaction when they pass one). */
  findSession(db: Executor, id: string) {
    return repo.findSession(db, id);
  }

  /** Time off of these doctors overlapping the dates, for other modules' rules. */
  timeOffOverlapping(...args: Parameters<typeof repo.timeOffOverlapping>) {
    return repo.timeOffOverlapping(...args);
  }

  async listSessions(doctorId: string) {
    await this.requireDoctor(doctorId);
    const rows = await repo.listDoctorSessions(this.db, doctorId);
    return { items: rows.map(toSessionView), nextCursor: null };
  }

  async getSession(id: string) {
    const row = await repo.findSession(this.db, id);
    if (!row) throw notFound('Session');
    return toSessionView(row);
  }

  async createSession(principal: Principal, doctorId: string, body: Static<typeof SessionCreateSchema>) {
    await this.requireDoctor(doctorId);
    this.assertManages(principal, doctorId, [body.hospitalId]);
    const hospital = await repo.findHospital(this.db, body.hospitalId);
    if (!hospital) throw notFound('Hospital');
    const values: repo.SessionInsert = {
      ...this.confirmationBy(principal),
      doctorId,
      hospitalId: body.hospitalId,
      weekday: body.weekday,
      startTime: body.start,
      endTime: body.end,
      slotMinutes: body.slotMinutes,
      capacity: body.capacity ?? defaultCapacity(body.start, body.end, body.slotMinutes),
      fee: body.fee ?? 0,
      room: body.room ?? null,
      validFrom: body.validFrom ?? null,
      validTo: body.validTo ?? null,
      bookingOpensDays: body.bookingOpensDays ?? 30,
      bookingClosesMinutes: body.bookingClosesMinutes ?? 0,
    };
    validateSessionShape(values);
    const id = await this.db.transaction().execute(async (trx) => {
      await repo.lockDoctor(trx, doctorId);
      await this.assertNoOverlap(trx, values);
      return repo.insertSession(trx, values);
    });
    return this.changed(doctorId, await this.getSession(id));
  }

  /**
   * A sitting the hospital's staff or an admin enters is confirmed at once; one the doctor enters waits for
   * that hospital to confirm it (POST /sessions/:id/confirm), so nobody can claim a hospital on their own.
   */
  private confirmationBy(principal: Principal): { confirmedAt: Date | null; confirmedBy: string | null } {
    return principal.role === 'doctor'
      ? { confirmedAt: null, confirmedBy: null }
      : { confirmedAt: this.deps.clock.now(), confirmedBy: principal.id };
  }

  /** Staff of the session's hospital or an admin confirm that the doctor sits there; then it is bookable. */
  async confirmSession(principal: Principal, id: string) {
    const current = await repo.findSession(this.db, id);
    if (!current) throw notFound('Session');
    if (
      principal.role !== 'admin' &&
      !(
        principal.role === 'staff' &&
        principal.hospitalId !== null &&
        principal.hospitalId === current.hospitalId
      )
    )
      throw forbidden("Only staff of the session's hospital or an admin may confirm it");
    await repo.confirmSession(this.db, id, principal.id, this.deps.clock.now());
    return this.changed(current.doctorId, await this.getSession(id));
  }

  /** Sessions waiting for confirmation: staff see their hospital's, admins every hospital's (or one). */
  async listPendingSessions(principal: Principal, hospitalId: string | undefined) {
    let scope: string | null = hospitalId ?? null;
    if (principal.role === 'staff') {
      if (!principal.hospitalId || (hospitalId && hospitalId !== principal.hospitalId))
        throw forbidden("Staff see only their own hospital's sessions");
      scope = principal.hospitalId;
    }
    const rows = await repo.pendingSessions(this.db, scope);
    return {
      items: rows.map((r) => ({ ...toSessionView(r), doctor: { id: r.doctorId, name: r.doctorName } })),
      nextCursor: null,
    };
  }

  private async assertNoOverlap(trx: Executor, s: repo.SessionInsert, excludeId?: string) {
    const clash = await repo.findOverlappingSession(trx, {
      doctorId: s.doctorId,
      weekday: s.weekday,
      startTime: s.startTime,
      endTime: s.endTime,
      validFrom: s.validFrom,
      validTo: s.validTo,
      excludeId,
    });
    if (clash) {
      throw new AppError(
        'CONFLICT',
        'The doctor already has a session overlapping these hours on that weekday',
        {
          sessionId: clash.id,
        },
      );
    }
  }

  async updateSession(principal: Principal, id: string, body: Static<typeof SessionUpdateSchema>) {
    const current = await repo.findSession(this.db, id);
    if (!current) throw notFound('Session');
    this.assertManages(principal, current.doctorId, [
      current.hospitalId,
      body.hospitalId ?? current.hospitalId,
    ]);
    if (body.hospitalId && body.hospitalId !== current.hospitalId) {
      if (!(await repo.findHospital(this.db, body.hospitalId))) throw notFound('Hospital');
    }
    const cancelled = await this.deps.events.transaction(this.db, async (trx, emit) => {
      await repo.lockDoctor(trx, current.doctorId);
      const locked = await repo.lockSession(trx, id);
      if (!locked) throw notFound('Session');
      const next: repo.SessionInsert = {
        doctorId: locked.doctorId,
        hospitalId: body.hospitalId ?? locked.hospitalId,
        weekday: body.weekday ?? locked.weekday,
        startTime: body.start ?? hhmm(locked.startTime),
        endTime: body.end ?? hhmm(locked.endTime),
        slotMinutes: body.slotMinutes ?? locked.slotMinutes,
        capacity: body.capacity ?? locked.capacity,
        fee: body.fee ?? locked.fee,
        room: body.room === undefined ? locked.room : body.room,
        validFrom: body.validFrom === undefined ? locked.validFrom : body.validFrom,
        validTo: body.validTo === undefined ? locked.validTo : body.validTo,
        bookingOpensDays: body.bookingOpensDays ?? locked.bookingOpensDays,
        bookingClosesMinutes: body.bookingClosesMinutes ?? locked.bookingClosesMinutes,
        // Moving the sitting to another hospital needs that hospital's confirmation again.
        ...(body.hospitalId !== undefined && body.hospitalId !== locked.hospitalId
          ? this.confirmationBy(principal)
          : {}),
      };
      if (body.capacity === undefined && (body.start || body.end || body.slotMinutes)) {
        const fitted = defaultCapacity(next.startTime, next.endTime, next.slotMinutes);
        if (locked.capacity === defaultCapacity(locked.startTime, locked.endTime, locked.slotMinutes))
          next.capacity = fitted;
      }
      validateSessionShape(next);
      await this.assertNoOverlap(trx, next, id);
      const timezone =
        next.hospitalId === locked.hospitalId
          ? locked.timezone
          : ((await repo.findHospital(trx, next.hospitalId))?.timezone ?? locked.timezone);
      const today = todayIn(timezone, this.deps.clock.now());
      const active = await repo.activeAppointmentsOfSession(trx, id, today);
      const affected = affectedByEdit(locked, next, active);
      if (affected.length > 0 && !body.cancelAffected) {
        throw new AppError(
          'CONFLICT',
          `This change would cancel ${affected.length} booked appointment(s); send cancelAffected: true to do so`,
          { affectedAppointments: affected.length },
        );
      }
      if (affected.length > 0) {
        await this.deps.ledger.cancelMany(trx, emit, affected, {
          reason: body.reason ?? 'The doctor changed this session',
          kind: 'session_changed',
          actor: principal,
        });
      }
      await repo.updateSession(trx, id, next);
      await this.reshapeFutureDays(trx, emit, { ...next, id, timezone }, today, principal);
      return affected.map((a) => a.id);
    });
    return this.changed(current.doctorId, {
      session: await this.getSession(id),
      cancelledAppointmentIds: cancelled,
    });
  }

  /** Queues from today on follow the edited session; their bookings were kept only where still valid. */
  private async reshapeFutureDays(
    trx: Executor,
    emit: Emit,
    s: repo.SessionInsert & { id: string; timezone: string },
    today: string,
    actor: Principal,
  ) {
    const days = await repo.futureSessionDays(trx, s.id, today);
    await this.deps.ledger.reshape(
      trx as Transaction<Database>,
      emit,
      days.map((d) => d.id),
      (date) => ({
        hospitalId: s.hospitalId,
        startsAt: localInstant(date, s.startTime, s.timezone),
        endsAt: localInstant(date, s.endTime, s.timezone),
        capacity: s.capacity,
        slotMinutes: s.slotMinutes,
      }),
      actor,
    );
  }

  async deleteSession(principal: Principal, id: string, opts: { cancelAffected?: boolean; reason?: string }) {
    const current = await repo.findSession(this.db, id);
    if (!current) throw notFound('Session');
    this.assertManages(principal, current.doctorId, [current.hospitalId]);
    const outcome = await this.deps.events.transaction(this.db, async (trx, emit) => {
      await repo.lockDoctor(trx, current.doctorId);
      const locked = await repo.lockSession(trx, id);
      if (!locked) throw notFound('Session');
      const today = todayIn(locked.timezone, this.deps.clock.now());
      const active = await repo.activeAppointmentsOfSession(trx, id, today);
      if (active.length > 0 && !opts.cancelAffected) {
        throw new AppError(
          'CONFLICT',
          `The session has ${active.length} booked appointment(s); send cancelAffected=true to cancel them`,
          { affectedAppointments: active.length },
        );
      }
      if (active.length > 0) {
        await this.deps.ledger.cancelMany(trx, emit, active, {
          reason: opts.reason ?? 'The doctor no longer holds this session',
          kind: 'session_deleted',
          actor: principal,
        });
      }
      await repo.softDeleteSession(trx, id, this.deps.clock.now());
      return { cancelledAppointmentIds: active.map((a) => a.id) };
    });
    return this.changed(current.doctorId, outcome);
  }

  async listTimeOff(doctorId: string, from: string | undefined) {
    await this.requireDoctor(doctorId);
    const rows = await repo.listTimeOff(this.db, doctorId, from ?? null);
    return { items: rows.map(toTimeOffView), nextCursor: null };
  }

  /**
   * Which hospital's sessions new time off covers, after checking who enters it: staff only for a doctor who
   * sits at their hospital, and only for that hospital's sessions; the doctor or an admin for all of them
   * (null) or for one hospital they name.
   */
  private async timeOffScope(
    principal: Principal,
    doctorId: string,
    hospitalId: string | undefined,
  ): Promise<string | null> {
    if (principal.role === 'staff') {
      if (!principal.hospitalId || (hospitalId && hospitalId !== principal.hospitalId))
        throw forbidden("Staff enter time off only for their own hospital's sessions");
      if (!(await repo.doctorWorksAt(this.db, doctorId, principal.hospitalId)))
        throw forbidden('Staff manage time off only for doctors with sessions at their hospital');
      return principal.hospitalId;
    }
    this.assertManages(principal, doctorId, []);
    if (hospitalId && !(await repo.findHospital(this.db, hospitalId))) throw notFound('Hospital');
    return hospitalId ?? null;
  }

  /** The doctor or an admin may remove any of the doctor's time off; staff only what their hospital entered. */
  private assertMayDeleteTimeOff(principal: Principal, row: { doctorId: string; hospitalId: string | null }) {
    if (principal.role === 'staff') {
      if (principal.hospitalId && row.hospitalId === principal.hospitalId) return;
      throw forbidden('Staff remove only time off their own hospital entered');
    }
    this.assertManages(principal, row.doctorId, []);
  }

  async createTimeOff(principal: Principal, doctorId: string, body: Static<typeof TimeOffCreateSchema>) {
    await this.requireDoctor(doctorId);
    const hospitalId = await this.timeOffScope(principal, doctorId, body.hospitalId);
    if (body.to < body.from) {
      throw new AppError('VALIDATION_FAILED', 'to must not be before from', [
        { field: 'body.to', message: 'must not be before from' },
      ]);
    }
    if (daysBetween(body.from, body.to) > 366) {
      throw new AppError('VALIDATION_FAILED', 'A time-off range is at most a year', [
        { field: 'body.to', message: 'at most 366 days after from' },
      ]);
    }
    const reason = body.reason?.trim() ?? '';
    const outcome = await this.deps.events.transaction(this.db, async (trx, emit) => {
      await repo.lockDoctor(trx, doctorId);
      const row = await repo.insertTimeOff(trx, {
        doctorId,
        hospitalId,
        fromDate: body.from,
        toDate: body.to,
        reason,
      });
      const affected = await repo.appointmentsInRange(trx, doctorId, body.from, body.to, hospitalId);
      if (affected.length > 0) {
        await this.deps.ledger.cancelMany(trx, emit, affected, {
          reason: reason ? `The doctor is away: ${reason}` : 'The doctor is away on that day',
          kind: 'time_off',
          actor: principal,
        });
      }
      return { ...toTimeOffView(row), cancelledAppointmentIds: affected.map((a) => a.id) };
    });
    return this.changed(doctorId, outcome);
  }

  async deleteTimeOff(principal: Principal, id: string) {
    const row = await repo.findTimeOff(this.db, id);
    if (!row) throw notFound('Time off');
    this.assertMayDeleteTimeOff(principal, row);
    await repo.deleteTimeOff(this.db, id);
    await this.changed(row.doctorId, undefined);
  }

  // ---- availability (schedule.availability.ts) ----

  doctorAvailability(...args: Parameters<ScheduleAvailability['doctorAvailability']>) {
    return this.availability.doctorAvailability(...args);
  }

  dayAvailability(...args: Parameters<ScheduleAvailability['dayAvailability']>) {
    return this.availability.dayAvailability(...args);
  }

  openings(...args: Parameters<ScheduleAvailability['openings']>) {
    return this.availability.openings(...args);
  }

  alternatives(...args: Parameters<ScheduleAvailability['alternatives']>) {
    return this.availability.alternatives(...args);
  }
}
