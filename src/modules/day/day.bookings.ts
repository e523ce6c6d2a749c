// The day ledger's places: booking, confirm, cancel (one, or many for a schedule change), reschedule, and a
// session edit reshaping its days. Each inside the caller's transaction, locking in the one order every
// booking uses (doctors and session key-share, then the days in id order); the commit point is day.record.ts.
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { Emit, EventMap } from '../../events.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Appointment } from '../appointments/appointments.table.js';
import type { OperationResult } from '../queue/queue.schema.js';
import type { QueueMeta } from '../queue/queue.store.js';
import { bookingRefusal } from '../schedule/schedule.rules.js';
import { type Change, type DayActor, type LedgerDeps, recordChange } from './day.record.js';
import { notBookable, Replay, sessionFull } from './day.refusals.js';
import * as repo from './day.repository.js';
import { assertEntryTransition, liveEstimate, stageOf } from './day.rules.js';

type Trx = Transaction<Database>;

export type CancelKind = NonNullable<EventMap['appointment.cancelled']['kind']>;

export interface CancelCause {
  reason: string;
  kind: CancelKind;
  actor: DayActor;
  /** Refuse (409) an appointment that cannot be cancelled, instead of passing over it. */
  strict: boolean;
  /** The tracking link moves to a reschedule's new booking: the old row keeps a placeholder hash. */
  releaseToken?: boolean;
}

export interface BookRequest {
  actor: DayActor & { id: string; hospitalId?: string | null };
  sessionId: string;
  date: string;
  profileId: string;
  profileName: string | null;
  serviceId: string | null;
  serial?: number;
  /** The waitlist offer being taken up: its held place is this booking's. */
  offerEntryId?: string;
  idempotency?: { key: string; requestHash: string; response: (id: string, token: string) => unknown };
  /** A reschedule's new half keeps the old booking's tracking link. */
  rescheduledFrom?: { id: string; trackingTokenHash: string };
  /** The day's projection meta, read before the transaction (no store round trip under the row lock). */
  liveMeta?: QueueMeta | null;
}

export interface Booked {
  appointmentId: string;
  queueId: string;
  date: string;
  bookedAt: Date;
  serial: number;
  version: number;
  /** The nominal slot time (reminders and the naive baseline read it). */
  slotAt: Date;
  /** What the patient is told: the live estimate. */
  estimatedAt: Date;
  fee: string;
  trackingToken: string | null;
  filled: boolean;
  session: repo.BookingSession;
  day: { id: string; startsAt: Date; status: string };
}

export class DayBookings {
  constructor(private readonly deps: LedgerDeps) {}

  #now(): Date {
    return this.deps.clock.now();
  }

  #record(trx: Trx, emit: Emit, day: { id: string; hospitalId: string }, actor: DayActor, c: Change) {
    return recordChange(trx, emit, day, actor, c);
  }

  /** The day's projection meta without a rebuild; null when the store has none or cannot be reached. */
  peekMeta(queueId: string): Promise<QueueMeta | null> {
    return this.deps.live.peekMeta(queueId).catch(() => null);
  }

  /**
   * Takes a place in a session day: the doctor's and the session's key-share locks and the day's row lock
   * in one statement (creating the day's row on its first booking), the date rules, then one statement
   * that checks time off, status, capacity (held offers included) and an explicit serial, claims the
   * Idempotency-Key, takes the serial, inserts the appointment, bumps the version and appends the event.
   * Anything refused throws before commit, so no serial is used.
   */
  async book(trx: Trx, emit: Emit, req: BookRequest): Promise<Booked> {
    const now = this.#now();
    const { actor } = req;
    let locked = await repo.lockForBooking(trx, req.sessionId, req.date);
    if (!locked) {
      const session = await repo.lockSessionForBooking(trx, req.sessionId);
      if (!session) throw notFound('Session');
      this.#assertStaffScope(actor, session.hospitalId);
      const early = bookingRefusal(session, req.date, now, false);
      if (early) throw notBookable(early);
      await repo.ensureSessionDay(trx, session, req.date);
      locked = await repo.lockForBooking(trx, req.sessionId, req.date);
      if (!locked) throw new Error('queue row missing after ensureSessionDay');
    }
    const { session, day } = locked;
    this.#assertStaffScope(actor, session.hospitalId);
    const refusal = bookingRefusal(session, req.date, now, false, day);
    if (refusal) throw notBookable(refusal);
    const id = randomUUID();
    const token = req.rescheduledFrom ? null : newOpaqueToken();
    const trackingTokenHash = req.rescheduledFrom?.trackingTokenHash ?? hashToken(token as string);
    const meta = req.liveMeta !== undefined ? req.liveMeta : await this.peekMeta(day.id);
    const placed = await repo.placeBooking(trx, {
      id,
      queueId: day.id,
      doctorId: session.doctorId,
      date: req.date,
      profileId: req.profileId,
      bookedBy: actor.id,
      serviceId: req.serviceId,
      serial: req.serial ?? null,
      trackingTokenHash,
      fee: session.fee,
      now,
      offerEntryId: req.offerEntryId ?? null,
      idempotency:
        req.idempotency && token
          ? {
              userId: actor.id,
              key: req.idempotency.key,
              requestHash: req.idempotency.requestHash,
              response: req.idempotency.response(id, token),
            }
          : null,
    });
    switch (placed.refusal) {
      case null:
        break;
      case 'replay':
        throw new Replay(req.idempotency?.key ?? '');
      case 'full':
        throw sessionFull(day.id);
      case 'serial_taken':
        throw new AppError('CONFLICT', `Serial ${req.serial} is not free in this session`, {
          reason: 'serial_taken',
        });
      default:
        throw notBookable(placed.refusal);
    }
    // Everyone still waiting is ahead of a new place at the end; an explicit serial inside the line is
    // ahead of those with lower serials still waiting, which the projection's count bounds.
    const ahead = meta
      ? req.serial === undefined
        ? meta.waiting
        : Math.min(meta.waiting, Math.max(0, placed.serial - 1 - (meta.nowServing ?? 0)))
      : null;
    const estimatedAt = liveEstimate({
      now,
      slotAt: placed.estimatedAt,
      ahead,
      meta,
    });
    await emit('appointment.booked', {
      appointmentId: id,
      queueId: day.id,
      actorId: actor.id,
      estimatedAt: estimatedAt.toISOString(),
      ...(token ? { trackingToken: token } : {}),
      ...(req.rescheduledFrom ? { rescheduledFrom: req.rescheduledFrom.id } : {}),
    });
    await this.#record(trx, emit, { id: day.id, hospitalId: session.hospitalId }, actor, {
      type: 'booked',
      version: placed.version,
      appointment: { id, serial: placed.serial },
      status: 'booked',
      ...(placed.bookedCount >= placed.capacity ? { room: 'filled' as const } : {}),
      ops: [
        {
          op: 'add',
          entry: {
            appointmentId: id,
            serial: placed.serial,
            status: 'waiting',
            stage: 'booked',
            priority: 0,
            positionKey: placed.serial,
            kind: 'booked',
            label: req.profileName || null,
            estimatedAt: placed.estimatedAt.toISOString(),
          },
        },
      ],
    });
    return {
      appointmentId: id,
      queueId: day.id,
      date: req.date,
      bookedAt: now,
      serial: placed.serial,
      version: placed.version,
      slotAt: placed.estimatedAt,
      estimatedAt,
      fee: placed.fee,
      trackingToken: token,
      filled: placed.bookedCount >= placed.capacity,
      session,
      day,
    };
  }

  #assertStaffScope(actor: BookRequest['actor'], hospitalId: string): void {
    if (actor.role === 'staff' && hospitalId !== actor.hospitalId)
      throw forbidden('Staff book only into sessions of their own hospital');
  }

  /** Confirms a booked appointment. */
  async confirm(trx: Trx, emit: Emit, appointmentId: string, actor: DayActor): Promise<OperationResult> {
    const { day, row } = await this.#lockAppointmentDay(trx, appointmentId);
    assertEntryTransition('confirm', row.status);
    await repo.updateAppointment(trx, row.id, { status: 'confirmed', confirmedAt: this.#now() });
    await emit('appointment.confirmed', { appointmentId: row.id, actorId: actor.id });
    return this.#record(trx, emit, day, actor, {
      type: 'confirmed',
      appointment: row,
      status: 'confirmed',
      ops: [{ op: 'stage', appointmentId: row.id, stage: stageOf({ ...row, confirmedAt: this.#now() }) }],
    });
  }

  /**
   * Cancels one appointment (locking its day); returns false when `strict` is off and it was not
   * cancellable. A freed booked place is offered to the waitlist in the same transaction.
   */
  async cancel(trx: Trx, emit: Emit, appointmentId: string, cause: CancelCause): Promise<boolean> {
    const { day, row } = await this.#lockAppointmentDay(trx, appointmentId);
    return this.#cancelLocked(trx, emit, day, row, cause);
  }

  /** Cancels many appointments for a schedule change, locking their days in id order (no deadlocks). */
  async cancelMany(
    trx: Trx,
    emit: Emit,
    appointments: readonly { id: string; queueId: string }[],
    cause: Omit<CancelCause, 'strict'>,
  ): Promise<number> {
    const days = await repo.lockDays(
      trx,
      appointments.map((a) => a.queueId),
    );
    let cancelled = 0;
    for (const a of appointments) {
      const day = days.get(a.queueId);
      const row = day ? await repo.lockAppointment(trx, a.queueId, a.id) : undefined;
      if (day && row && (await this.#cancelLocked(trx, emit, day, row, { ...cause, strict: false })))
        cancelled++;
    }
    return cancelled;
  }

  async #lockAppointmentDay(trx: Trx, appointmentId: string) {
    const found = await repo.appointmentDay(trx, appointmentId);
    if (!found) throw notFound('Appointment');
    const day = await repo.lockDay(trx, found.queueId);
    const row = day ? await repo.lockAppointment(trx, found.queueId, appointmentId) : undefined;
    if (!day || !row) throw notFound('Appointment');
    return { day, row };
  }

  async #cancelLocked(trx: Trx, emit: Emit, day: repo.LockedDay, row: Appointment, cause: CancelCause) {
    const rule = 'cancel';
    try {
      assertEntryTransition(rule, row.status);
    } catch (err) {
      if (!cause.strict) return false;
      throw err instanceof AppError ? invalidCancel(row.status) : err;
    }
    const now = this.#now();
    await repo.updateAppointment(trx, row.id, {
      status: 'cancelled',
      cancelledAt: now,
      cancelReason: cause.reason,
      ...(cause.releaseToken ? { trackingTokenHash: `moved:${row.id}` } : {}),
    });
    if (row.kind === 'booked') await repo.adjustBookedCount(trx, day.id, -1);
    await emit('appointment.cancelled', {
      appointmentId: row.id,
      queueId: day.id,
      actorId: cause.actor.id,
      reason: cause.reason,
      kind: cause.kind,
      actorRole: cause.actor.role ?? null,
      freedPlace: row.kind === 'booked',
    });
    await this.#record(trx, emit, day, cause.actor, {
      type: 'cancelled',
      appointment: row,
      status: 'cancelled',
      reason: cause.kind === 'rescheduled' ? 'rescheduled' : cause.reason,
      appointmentStatus: 'cancelled',
      ...(row.kind === 'booked' && day.bookedCount >= day.capacity ? { room: 'freed' as const } : {}),
      ops: [{ op: 'remove', appointmentId: row.id }],
    });
    return true;
  }

  /**
   * A session edit moved, resized or re-timed its future days: each day is locked (in id order), reshaped,
   * and its projection rebuilt after commit. Bookings the edit cancels go through cancelMany first.
   */
  async reshape(
    trx: Trx,
    emit: Emit,
    queueIds: string[],
    shape: (date: string) => {
      hospitalId: string;
      startsAt: Date;
      endsAt: Date;
      capacity: number;
      slotMinutes: number;
    },
    actor: DayActor,
  ): Promise<void> {
    const days = await repo.lockDays(trx, queueIds);
    for (const day of days.values()) {
      const next = shape(day.date);
      await repo.updateDay(trx, day.id, { ...next, updatedAt: new Date() });
      await this.#record(trx, emit, { id: day.id, hospitalId: next.hospitalId }, actor, {
        type: 'rebuilt',
        status: day.status,
        ops: [],
        rebuild: true,
        data: { reshaped: true, capacity: next.capacity, slotMinutes: next.slotMinutes },
      });
    }
  }

  /**
   * Moves a booking to another session day in one transaction: both days locked in id order, the old place
   * cancelled and the new one taken under the same rules as a booking; any refusal rolls both back. The
   * tracking link follows the booking.
   */
  async reschedule(
    trx: Trx,
    emit: Emit,
    appointmentId: string,
    target: { sessionId: string; date: string; queueId: string; profileName: string | null },
    actor: BookRequest['actor'],
  ): Promise<Booked> {
    const found = await repo.appointmentDay(trx, appointmentId);
    if (!found) throw notFound('Appointment');
    if (target.queueId === found.queueId)
      throw new AppError('CONFLICT', 'The appointment is already in that session on that date');
    // The lock order of every booking: doctors and the session key-share, then the days in id order.
    const session = await repo.lockSessionForBooking(trx, target.sessionId);
    if (!session) throw notFound('Session');
    await repo.keyShareDoctors(trx, [found.doctorId, session.doctorId]);
    const days = await repo.lockDays(trx, [found.queueId, target.queueId]);
    const oldDay = days.get(found.queueId);
    const old = oldDay ? await repo.lockAppointment(trx, found.queueId, appointmentId) : undefined;
    if (!oldDay || !old) throw notFound('Appointment');
    if (old.status !== 'booked' && old.status !== 'confirmed')
      throw new AppError('INVALID_TRANSITION', `A ${old.status} appointment cannot be rescheduled`);
    if (!old.profileId) throw new AppError('INVALID_TRANSITION', 'A walk-in cannot be rescheduled');
    await this.#cancelLocked(trx, emit, oldDay, old, {
      reason: 'Rescheduled',
      kind: 'rescheduled',
      actor,
      strict: true,
      releaseToken: true,
    });
    const booked = await this.book(trx, emit, {
      actor: { ...actor, id: old.bookedBy ?? actor.id },
      sessionId: target.sessionId,
      date: target.date,
      profileId: old.profileId,
      profileName: target.profileName,
      serviceId: old.serviceId,
      rescheduledFrom: { id: old.id, trackingTokenHash: old.trackingTokenHash },
    });
    await emit('appointment.rescheduled', {
      appointmentId: booked.appointmentId,
      previousAppointmentId: old.id,
      actorId: actor.id,
    });
    return booked;
  }
}

function invalidCancel(status: string): AppError {
  return new AppError('INVALID_TRANSITION', `A ${status} appointment cannot be cancelled`, { status });
}
