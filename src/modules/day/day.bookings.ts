// The day ledger's places: booking, confirm, cancel (one, or many for a schedule change), reschedule, and a
// session edit reshaping its days. Each inside the caller's transaction, locking in the one order every
// booking uses (doctors and session key-share, then the days in id order); the commit point is day.record.ts.
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Database, DB, Executor } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { DomainEvents, Emit, EventMap, EventName } from '../../events.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Appointment } from '../appointments/appointments.table.js';
import type { OperationResult } from '../queue/queue.schema.js';
import type { QueueMeta } from '../queue/queue.store.js';
import { bookingRefusal } from '../schedule/schedule.rules.js';
import { type DayActor, type LedgerDeps, recordChange } from './day.record.js';
import { notBookable, Replay, sessionFull } from './day.refusals.js';
import * as repo from './day.repository.js';
import { assertEntryTransition, liveEstimate, stageOf } from './day.rules.js';

type Trx = Transaction<Database>;

export type { BookingSession } from './day.repository.js';

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

  /** A day's row, unlocked (other modules reach the days through the ledger, never its repository). */
  findDay(db: Executor, id: string) {
    return repo.findDay(db, id);
  }

  /** A session's day on a date, unlocked; undefined before its first booking. */
  findDayOf(db: Executor, sessionId: string, date: string) {
    return repo.findDayOf(db, sessionId, date);
  }

  /** Locks a day's row for the rest of the caller's transaction (a change of the day's waitlist, say). */
  lockDay(trx: Trx, id: string) {
    return repo.lockDay(trx, id);
  }

  /** The day's row of a session on a date, created if it has none yet; returns its id. */
  openDay(trx: Trx, session: Parameters<typeof repo.ensureSessionDay>[1], date: string): Promise<string> {
    return repo.ensureSessionDay(trx, session, date);
  }

  /** The day's projection meta without a rebuild; null when the store has none or cannot be reached. */
  peekMeta(queueId: string): Promise<QueueMeta | null> {
    return this.deps.live.peekMeta(queueId).catch(() => null);
  }

  /**
   * Takes a place in a session day: the doctor's and the session's key-share locks and the day's row lock
   * in one statement (creating the day's row on its first booking), the date rules, then the booking
   * statement (day_book_place), which checks time off, status, capacity (held offers included) and an
   * explicit serial, claims the Idempotency-Key, takes the serial, inserts the appointment, bumps the version
   * and appends the event; the transactional handlers then write the messages. Anything refused throws
   * before commit, so no serial is used.
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
    const meta = req.liveMeta !== undefined ? req.liveMeta : await this.peekMeta(day.id);
    const placed = refused(
      await repo.placeBooking(trx, this.#placeInput(req, session, day.id, id, token, now)),
      req,
      day.id,
    );
    const estimatedAt = liveEstimate({ now, slotAt: placed.slotAt, ahead: aheadOf(meta, req, placed), meta });
    await this.#announce(trx, emit, req, session, day.id, id, token, placed, estimatedAt);
    return booked(req, session, day, id, token, now, placed, estimatedAt);
  }

  /**
   * The whole booking as one statement outside any transaction, so that the day's row lock is held only
   * while it runs: for a day whose row and session rules the caller read just before (`read`), when every
   * transactional handler of the booking's events drafts its writes beforehand (DomainEvents.draftBooking).
   * The statement refuses as 'stale' when the session's rules changed since they were read. The answer, the
   * events and the messages are the full path's. Null when the booking cannot be taken this way (the caller
   * then takes the full path); refusals throw as there.
   */
  async bookAtOnce(
    db: DB,
    events: DomainEvents,
    req: BookRequest,
    read: {
      session: repo.BookingSession;
      day: { id: string; startsAt: Date; status: string; capacity: number };
      rulesTag: string;
    },
  ): Promise<Booked | null> {
    if (req.offerEntryId || req.rescheduledFrom) return null;
    const { session, day } = read;
    this.#assertStaffScope(req.actor, session.hospitalId);
    const now = this.#now();
    const id = randomUUID();
    const token = newOpaqueToken();
    const draft = await events.draftBooking(db, {
      appointmentId: id,
      queueId: day.id,
      profileId: req.profileId,
      serviceId: req.serviceId,
      actorId: req.actor.id,
      trackingToken: token,
      now,
      slots: { first: day.startsAt, last: slotTime(day.startsAt, day.capacity, session.slotMinutes) },
    });
    if (!draft) return null;
    const meta = req.liveMeta !== undefined ? req.liveMeta : await this.peekMeta(day.id);
    // The estimate before the slot is known; an explicit serial's place in line is known already.
    const ahead = aheadOf(meta, req, req.serial === undefined ? null : { serial: req.serial });
    let placement: repo.PlaceResult;
    try {
      placement = await repo.placeBooking(db, {
        ...this.#placeInput(req, session, day.id, id, token, now),
        rulesTag: read.rulesTag,
        estimateFloor: liveEstimate({ now, slotAt: now, ahead, meta }),
        messages: draft.messages,
        undraftedSlots: draft.undraftedSlots,
      });
    } catch (err) {
      // A schedule change locking in the other order: nothing was written, the full path queues behind it.
      if ((err as { code?: string }).code === DEADLOCK) return null;
      throw err;
    }
    if (placement.refusal === 'stale' || placement.refusal === 'undrafted') return null;
    const placed = refused(placement, req, day.id);
    const emitted: { name: EventName; payload: unknown }[] = [];
    const collect: Emit = async (name, payload) => {
      emitted.push({ name, payload });
    };
    await this.#announce(db, collect, req, session, day.id, id, token, placed, placed.estimatedAt);
    for (const e of emitted) await events.dispatchCommitted(e.name, e.payload as never);
    return booked(req, session, day, id, token, now, placed, placed.estimatedAt);
  }

  #placeInput(
    req: BookRequest,
    session: repo.BookingSession,
    queueId: string,
    id: string,
    token: string | null,
    now: Date,
  ): repo.PlaceInput {
    return {
      id,
      sessionId: session.id,
      queueId,
      doctorId: session.doctorId,
      date: req.date,
      profileId: req.profileId,
      bookedBy: req.actor.id,
      serviceId: req.serviceId,
      serial: req.serial ?? null,
      trackingTokenHash: req.rescheduledFrom?.trackingTokenHash ?? hashToken(token as string),
      fee: session.fee,
      now,
      offerEntryId: req.offerEntryId ?? null,
      idempotency:
        req.idempotency && token
          ? {
              userId: req.actor.id,
              key: req.idempotency.key,
              requestHash: req.idempotency.requestHash,
              response: req.idempotency.response(id, token),
            }
          : null,
    };
  }

  /** The booking's events: `appointment.booked`, then the day's change with the projection's new entry. */
  async #announce(
    db: Executor,
    emit: Emit,
    req: BookRequest,
    session: repo.BookingSession,
    queueId: string,
    id: string,
    token: string | null,
    placed: Placed,
    estimatedAt: Date,
  ): Promise<void> {
    await emit('appointment.booked', {
      appointmentId: id,
      queueId,
      actorId: req.actor.id,
      estimatedAt: estimatedAt.toISOString(),
      ...(token ? { trackingToken: token } : {}),
      ...(req.rescheduledFrom ? { rescheduledFrom: req.rescheduledFrom.id } : {}),
    });
    // The booking statement bumped the version and appended the event: recordChange only emits.
    await recordChange(db, emit, { id: queueId, hospitalId: session.hospitalId }, req.actor, {
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
            estimatedAt: placed.slotAt.toISOString(),
          },
        },
      ],
    });
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
    return recordChange(trx, emit, day, actor, {
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
    await recordChange(trx, emit, day, cause.actor, {
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
      await recordChange(trx, emit, { id: day.id, hospitalId: next.hospitalId }, actor, {
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

type Placed = Extract<repo.PlaceResult, { refusal: null }>;

/** Postgres's deadlock_detected. */
const DEADLOCK = '40P01';

/** The placement, or the refusal it stands for thrown as the API answers it. */
function refused(result: repo.PlaceResult, req: BookRequest, queueId: string): Placed {
  switch (result.refusal) {
    case null:
      return result;
    case 'replay':
      throw new Replay(req.idempotency?.key ?? '');
    case 'full':
      throw sessionFull(queueId);
    case 'serial_taken':
      throw new AppError('CONFLICT', `Serial ${req.serial} is not free in this session`, {
        reason: 'serial_taken',
      });
    case 'stale':
    case 'undrafted':
      throw new Error(`booking statement refused '${result.refusal}' under the locks`);
    default:
      throw notBookable(result.refusal);
  }
}

/**
 * How many are ahead of a new place: everyone still waiting when it is at the end; an explicit serial inside
 * the line is ahead of those with lower serials still waiting, which the projection's count bounds.
 */
function aheadOf(meta: QueueMeta | null, req: BookRequest, placed: { serial: number } | null): number | null {
  if (!meta) return null;
  if (req.serial === undefined) return meta.waiting;
  const serial = placed?.serial ?? req.serial;
  return Math.min(meta.waiting, Math.max(0, serial - 1 - (meta.nowServing ?? 0)));
}

/** A serial's scheduled time: start + (serial − 1) × slot. */
function slotTime(startsAt: Date, serial: number, slotMinutes: number): Date {
  return new Date(startsAt.getTime() + (serial - 1) * slotMinutes * 60_000);
}

function booked(
  req: BookRequest,
  session: repo.BookingSession,
  day: { id: string; startsAt: Date; status: string },
  id: string,
  token: string | null,
  now: Date,
  placed: Placed,
  estimatedAt: Date,
): Booked {
  return {
    appointmentId: id,
    queueId: day.id,
    date: req.date,
    bookedAt: now,
    serial: placed.serial,
    version: placed.version,
    slotAt: placed.slotAt,
    estimatedAt,
    fee: session.fee,
    trackingToken: token,
    filled: placed.bookedCount >= placed.capacity,
    session,
    day: { id: day.id, startsAt: day.startsAt, status: day.status },
  };
}
