// Booking, reschedule, cancel and confirm: every change takes the queue's row lock, keeps booked_count,
// bumps the queue version with a queue_events row and emits domain events in the same transaction.
import { createHash, randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Transaction } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../clock.js';
import type { Database, DB } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { DomainEvents, Emit, EventMap } from '../../events.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Principal } from '../../plugins/auth.js';
import type { LiveQueue } from '../queue/queue.live.js';
import { lockQueue, recordQueueEvent, takeNextSerial } from '../queue/queue.repository.js';
import type { SessionDay } from '../queue/queue.table.js';
import * as scheduleRepo from '../schedule/schedule.repository.js';
import { bookingRefusal, estimatedAt } from '../schedule/schedule.rules.js';
import { type CancelAffected, ensureSessionDay, type ScheduleService } from '../schedule/schedule.service.js';
import { toZonedIso } from '../schedule/schedule.time.js';
import * as bookingRepo from './appointments.booking.repository.js';
import * as idempotencyRepo from './appointments.idempotency.repository.js';
import { KeyedMutex } from './appointments.mutex.js';
import * as repo from './appointments.repository.js';
import type { AppointmentListQuerySchema, BookingBodySchema } from './appointments.schema.js';
import { WaitlistService } from './appointments.waitlist.js';
import * as waitlistRepo from './appointments.waitlist.repository.js';

export interface AppointmentsOptions {
  /** Patients may cancel or reschedule until this many minutes before the session starts. @default 0 */
  cancelCutoffMinutes: number;
  /** How long a waitlist offer holds a freed place. @default 30 */
  waitlistOfferMinutes: number;
  /** Base of the links in waitlist offers. */
  publicUrl: string;
}

export interface AppointmentsDeps {
  db: DB;
  clock: Clock;
  events: DomainEvents;
  schedule: ScheduleService;
  /** The live queue: a booking hands it the entry it adds, so the commit handler need not read it back. */
  live?: Pick<LiveQueue, 'stage' | 'unstage'>;
  options: AppointmentsOptions;
}

type Trx = Transaction<Database>;
type CancelKind = NonNullable<EventMap['appointment.cancelled']['kind']>;
type Detail = repo.AppointmentDetail;
export type AppointmentView = ReturnType<typeof toAppointmentView>;

export function toAppointmentView(a: Detail) {
  return {
    id: a.id,
    queueId: a.queueId,
    sessionId: a.sessionId,
    doctorId: a.doctorId,
    doctor: { id: a.doctorId, name: a.doctorName },
    hospital: { id: a.hospitalId, name: a.hospitalName, city: a.hospitalCity, timezone: a.timezone },
    room: a.room,
    profileId: a.profileId,
    patientName: a.profileName ?? a.walkInName,
    bookedBy: a.bookedBy,
    serviceId: a.serviceId,
    date: a.date,
    serial: a.serial,
    kind: a.kind,
    status: a.status,
    estimatedAt: toZonedIso(a.estimatedAt, a.timezone),
    fee: Number(a.fee),
    cancelReason: a.cancelReason,
    bookedAt: a.bookedAt.toISOString(),
    confirmedAt: a.confirmedAt ? a.confirmedAt.toISOString() : null,
    cancelledAt: a.cancelledAt ? a.cancelledAt.toISOString() : null,
  };
}

/** Postgres unique violation on a named constraint or index (pg and PGlite both carry `constraint`). */
function uniqueViolation(err: unknown, name: string): boolean {
  const e = err as { code?: string; constraint?: string; message?: string } | null;
  return e?.code === '23505' && (e.constraint === name || (e.message ?? '').includes(name));
}

class Replay {
  constructor(readonly key: string) {}
}

interface PlaceRequest {
  principal: Principal;
  sessionId: string;
  date: string;
  profileId: string;
  serviceId: string | null;
  serial?: number;
  /** The waitlist offer being taken up: its held place is this booking's. */
  offerEntryId?: string;
  idempotency?: { key: string; requestHash: string };
}

type Alternatives = Awaited<ReturnType<ScheduleService['alternatives']>>;

export class AppointmentsService {
  readonly waitlist: WaitlistService;
  /** A burst against a full session asks for the same alternatives many times; they are advice, not state. */
  readonly #queueTurns = new KeyedMutex<{ queueId: string }>();
  /** Promises, so that a burst of refusals computes one set of alternatives, not one each. */
  readonly #alternatives = new LRUCache<string, Promise<Alternatives>>({ max: 1000, ttl: 5_000 });

  constructor(private readonly deps: AppointmentsDeps) {
    this.waitlist = new WaitlistService({
      db: deps.db,
      clock: deps.clock,
      events: deps.events,
      offerMinutes: deps.options.waitlistOfferMinutes,
      publicUrl: deps.options.publicUrl,
      resolveProfile: (principal, profileId) => this.resolveProfile(principal, profileId),
    });
  }

  private get db() {
    return this.deps.db;
  }

  /** Which profile a booking is for: the patient's own (default) or a dependent; staff/admin name one. */
  async resolveProfile(principal: Principal, profileId: string | undefined): Promise<string> {
    if (principal.role === 'patient') {
      if (!profileId || profileId === principal.profileId) {
        if (!principal.profileId) throw notFound('Patient profile');
        return principal.profileId;
      }
      const profile = await repo.findProfile(this.db, profileId);
      if (!profile || profile.accountId !== principal.id) throw notFound('Patient profile');
      return profile.id;
    }
    if (principal.role === 'staff' || principal.role === 'admin') {
      if (!profileId) {
        throw new AppError('VALIDATION_FAILED', 'profileId is required when booking for a patient', [
          { field: 'body.profileId', message: 'is required for staff and admins' },
        ]);
      }
      const profile = await repo.findProfile(this.db, profileId);
      if (!profile) throw notFound('Patient profile');
      return profile.id;
    }
    throw forbidden('Doctors do not book appointments; the front desk does');
  }

  async book(principal: Principal, body: Static<typeof BookingBodySchema>, idempotencyKey?: string) {
    const profileId = await this.resolveProfile(principal, body.profileId);
    const requestHash = createHash('sha256')
      .update(
        JSON.stringify([
          'POST /appointments',
          body.sessionId,
          body.date,
          profileId,
          body.serviceId ?? null,
          body.serial ?? null,
        ]),
      )
      .digest('base64url');
    const req: PlaceRequest = {
      principal,
      sessionId: body.sessionId,
      date: body.date,
      profileId,
      serviceId: body.serviceId ?? null,
      serial: body.serial,
      idempotency: idempotencyKey ? { key: idempotencyKey, requestHash } : undefined,
    };
    const outline = await bookingRepo.bookingOutline(this.db, {
      sessionId: req.sessionId,
      date: req.date,
      profileId,
      serviceId: req.serviceId,
      userId: principal.id,
      idempotencyKey: idempotencyKey ?? null,
    });
    if (!outline.serviceOk) throw notFound('Service');
    if (idempotencyKey && outline.idempotency) {
      const prior = await this.replayOf(outline.idempotency, requestHash);
      if (prior) return prior;
    }
    try {
      this.precheck(req, outline);
      const key = `${req.sessionId}|${req.date}`;
      const turn = await this.#queueTurns.acquire(key);
      let unstage: (() => void) | undefined;
      try {
        // A holder ahead of us saw the day fill after we looked: refused without a transaction.
        if (turn.note) throw sessionFull(turn.note.queueId);
        let filled = false;
        const placed = await this.deps.events.transaction(this.db, async (trx, emit) => {
          const result = await this.place(trx, emit, req, outline.profile?.name ?? null, (undo) => {
            unstage = undo;
          });
          filled = result.filled;
          // The commit is next: the following holder may open its transaction and wait on the row lock.
          if (!filled) turn.release();
          return result;
        });
        if (filled) this.#queueTurns.note(key, { queueId: placed.view.queueId });
        return placed.view;
      } catch (err) {
        unstage?.();
        if (err instanceof AppError && err.code === 'SESSION_FULL') {
          const queueId = (err.details as { queueId?: string } | undefined)?.queueId;
          if (queueId) this.#queueTurns.note(key, { queueId });
        }
        throw err;
      } finally {
        turn.release();
      }
    } catch (err) {
      // A retry refused because its own first attempt took the place (or the last one) is that attempt's
      // replay: a claimed key wins over SESSION_FULL and ALREADY_BOOKED, however the refusal was reached.
      const refusedByItself =
        idempotencyKey !== undefined &&
        ((err instanceof AppError && (err.code === 'SESSION_FULL' || err.code === 'ALREADY_BOOKED')) ||
          uniqueViolation(err, 'appointments_one_active_idx'));
      if (err instanceof Replay || refusedByItself) {
        const prior = await this.replay(principal.id, idempotencyKey ?? '', requestHash);
        if (prior) return prior;
      }
      throw await this.explain(err, body.sessionId, body.date);
    }
  }

  private async replay(userId: string, key: string, requestHash: string) {
    const prior = await idempotencyRepo.findIdempotency(this.db, userId, key);
    return prior ? this.replayOf(prior, requestHash) : null;
  }

  private async replayOf(prior: { requestHash: string; response: unknown }, requestHash: string) {
    if (prior.requestHash !== requestHash) {
      throw new AppError('CONFLICT', 'This Idempotency-Key was already used for a different request', {
        reason: 'idempotency_key_reused',
      });
    }
    // Keys are claimed with their final answer inside the booking's transaction: seen only once committed.
    return this.bookedView(prior.response as { appointmentId: string; trackingToken: string });
  }

  /** Maps constraint races to their documented codes and gives SESSION_FULL its alternatives. */
  private async explain(err: unknown, sessionId: string, date: string): Promise<unknown> {
    if (uniqueViolation(err, 'appointments_one_active_idx'))
      return new AppError(
        'ALREADY_BOOKED',
        'This patient already has an appointment with this doctor that day',
      );
    if (err instanceof AppError && err.code === 'SESSION_FULL') {
      const key = `${sessionId}|${date}`;
      let pending = this.#alternatives.get(key);
      if (!pending) {
        pending = scheduleRepo
          .findSession(this.db, sessionId)
          .then((session) =>
            session ? this.deps.schedule.alternatives(session, date) : { dates: [], doctors: [] },
          );
        this.#alternatives.set(key, pending);
        // A failed computation is not remembered.
        pending.catch(() => {
          if (this.#alternatives.get(key) === pending) this.#alternatives.delete(key);
        });
      }
      const alternatives = await pending;
      const details = (err.details ?? {}) as Record<string, unknown>;
      return new AppError('SESSION_FULL', err.message, { ...details, alternatives });
    }
    return err;
  }

  /**
   * Refusals that need no lock, from the one read made before any transaction, so that a burst against a
   * full session or a repeated tap does not queue up on the queue's row lock. `place` checks all of them
   * again under the locks (a stale "room" here is harmless; a stale "full" is the same as arriving a moment
   * later).
   */
  private precheck(req: PlaceRequest, outline: bookingRepo.BookingOutline): void {
    const { session, day } = outline;
    if (!session) throw notFound('Session');
    if (req.principal.role === 'staff' && session.hospitalId !== req.principal.hospitalId)
      throw forbidden('Staff book only into sessions of their own hospital');
    const refusal = bookingRefusal(
      session,
      req.date,
      this.deps.clock.now(),
      outline.onTimeOff,
      day ?? undefined,
    );
    if (refusal) throw notBookable(refusal);
    if (outline.duplicateId) throw alreadyBooked(outline.duplicateId);
    if (day && day.bookedCount >= day.capacity) throw sessionFull(day.id);
  }

  /**
   * Takes a place in a session day inside the caller's transaction, in two statements: the first takes the
   * doctor's and the session's key-share locks and the queue row's lock and reads the rules (creating the
   * day's queue row first if this is its first booking); the date rules are checked again; the second checks
   * time off, the queue's status, capacity (held waitlist offers included), claims the Idempotency-Key and
   * takes the serial, inserting the appointment and its queue event. The one-per-day rule is enforced by the
   * partial unique index. Anything refused throws before commit, so no serial is used.
   */
  private async place(
    trx: Trx,
    emit: Emit,
    req: PlaceRequest,
    profileName: string | null,
    onStaged?: (unstage: () => void) => void,
  ) {
    const { principal } = req;
    const now = this.deps.clock.now();
    let locked = await bookingRepo.lockForBooking(trx, req.sessionId, req.date);
    if (!locked) {
      const session = await bookingRepo.lockSessionForBooking(trx, req.sessionId);
      if (!session) throw notFound('Session');
      if (principal.role === 'staff' && session.hospitalId !== principal.hospitalId)
        throw forbidden('Staff book only into sessions of their own hospital');
      const early = bookingRefusal(session, req.date, now, false);
      if (early) throw notBookable(early);
      await ensureSessionDay(trx, session, req.date);
      locked = await bookingRepo.lockForBooking(trx, req.sessionId, req.date);
      if (!locked) throw new Error('queue row missing after ensureSessionDay');
    }
    const { session, day } = locked;
    if (principal.role === 'staff' && session.hospitalId !== principal.hospitalId)
      throw forbidden('Staff book only into sessions of their own hospital');
    const refusal = bookingRefusal(session, req.date, now, false, day);
    if (refusal) throw notBookable(refusal);
    const id = randomUUID();
    const token = newOpaqueToken();
    const trackingTokenHash = hashToken(token);
    const placed = await bookingRepo.placeBooking(trx, {
      id,
      queueId: day.id,
      doctorId: session.doctorId,
      date: req.date,
      profileId: req.profileId,
      bookedBy: principal.id,
      serviceId: req.serviceId,
      serial: req.serial ?? null,
      trackingTokenHash,
      fee: session.fee,
      now,
      offerEntryId: req.offerEntryId ?? null,
      idempotency: req.idempotency
        ? {
            userId: principal.id,
            key: req.idempotency.key,
            requestHash: req.idempotency.requestHash,
            response: { appointmentId: id, trackingToken: token },
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
    await emit('appointment.booked', {
      appointmentId: id,
      queueId: day.id,
      actorId: principal.id,
      trackingToken: token,
    });
    // The live queue's entry, when the caller knows its label (a waitlist take-up leaves it to the commit
    // handler, which reads the appointment back).
    const live = onStaged ? this.deps.live : undefined;
    live?.stage(day.id, placed.version, {
      hospitalId: session.hospitalId,
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
            label: profileName || null,
            estimatedAt: placed.estimatedAt.toISOString(),
          },
        },
      ],
    });
    onStaged?.(() => live?.unstage(day.id, placed.version));
    await emit('queue.changed', {
      queueId: day.id,
      version: placed.version,
      type: 'booked',
      appointmentId: id,
      serial: placed.serial,
    });
    const detail: Detail = {
      id,
      queueId: day.id,
      doctorId: session.doctorId,
      date: req.date,
      profileId: req.profileId,
      bookedBy: principal.id,
      serviceId: req.serviceId,
      serial: placed.serial,
      kind: 'booked',
      status: 'booked',
      estimatedAt: placed.estimatedAt,
      fee: placed.fee,
      cancelReason: null,
      bookedAt: now,
      confirmedAt: null,
      cancelledAt: null,
      trackingTokenHash,
      walkInName: null,
      sessionId: session.id,
      hospitalId: session.hospitalId,
      startsAt: day.startsAt,
      slotMinutes: session.slotMinutes,
      room: session.room,
      hospitalName: session.hospitalName,
      hospitalCity: session.hospitalCity,
      hospitalAddress: session.hospitalAddress,
      timezone: session.timezone,
      doctorName: session.doctorName,
      profileName,
      profileAccountId: null,
    };
    return {
      appointmentId: id,
      view: { ...toAppointmentView(detail), trackingToken: token },
      filled: placed.bookedCount >= placed.capacity,
    };
  }

  /** A booked appointment as answered, read after commit (idempotent replays). */
  private async bookedView(placed: { appointmentId: string; trackingToken: string }) {
    const detail = await repo.findDetail(this.db, placed.appointmentId);
    if (!detail) throw notFound('Appointment');
    return { ...toAppointmentView(detail), trackingToken: placed.trackingToken };
  }

  /** The appointment if the principal may see it: owner, its doctor, staff of its hospital, admin. */
  async visible(principal: Principal, id: string): Promise<Detail> {
    const row = await repo.findDetail(this.db, id);
    if (!row || !canSee(principal, row)) throw notFound('Appointment');
    return row;
  }

  async get(principal: Principal, id: string) {
    return toAppointmentView(await this.visible(principal, id));
  }

  async list(principal: Principal, query: Static<typeof AppointmentListQuerySchema>) {
    const scope: repo.ListScope =
      principal.role === 'patient'
        ? { accountId: principal.id }
        : principal.role === 'doctor'
          ? { doctorId: principal.doctorId ?? '00000000-0000-0000-0000-000000000000' }
          : principal.role === 'staff'
            ? { hospitalId: principal.hospitalId ?? '00000000-0000-0000-0000-000000000000' }
            : {};
    const after = decodeCursor<[string, string]>(query.cursor, 2);
    if (query.cursor && !after) throw new AppError('VALIDATION_FAILED', 'cursor is invalid');
    const limit = query.limit ?? 20;
    const rows = await repo.listAppointments(this.db, scope, {
      date: query.date,
      from: query.from,
      to: query.to,
      status: query.status,
      doctorId: query.doctorId,
      hospitalId: query.hospitalId,
      profileId: query.profileId,
      order: query.order ?? 'asc',
      limit,
      after,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toAppointmentView),
      nextCursor:
        rows.length > limit && last ? encodeCursor([last.estimatedAt.toISOString(), last.id]) : null,
    };
  }

  private isOwner(principal: Principal, row: Detail): boolean {
    return (
      principal.role === 'patient' && (row.profileAccountId === principal.id || row.bookedBy === principal.id)
    );
  }

  private assertPatientBeforeCutoff(row: Detail, what: string) {
    const cutoff = row.startsAt.getTime() - this.deps.options.cancelCutoffMinutes * 60_000;
    if (this.deps.clock.now().getTime() >= cutoff) {
      throw forbidden(`It is too late to ${what} online; please call the clinic`);
    }
  }

  async cancel(principal: Principal, id: string, reason: string | undefined) {
    const row = await this.visible(principal, id);
    const patient = this.isOwner(principal, row);
    if (patient) this.assertPatientBeforeCutoff(row, 'cancel');
    await this.deps.events.transaction(this.db, async (trx, emit) => {
      const day = await lockQueue(trx, row.queueId);
      if (!day) throw notFound('Appointment');
      await this.cancelLocked(trx, emit, id, {
        reason: reason ?? (patient ? 'Cancelled by the patient' : 'Cancelled by the clinic'),
        kind: patient ? 'patient' : 'clinic',
        actorId: principal.id,
        actorRole: principal.role,
        strict: true,
      });
    });
    return this.get(principal, id);
  }

  /** Cancels one appointment whose queue row the caller holds locked. */
  private async cancelLocked(
    trx: Trx,
    emit: Emit,
    id: string,
    cause: {
      reason: string;
      kind: CancelKind;
      actorId: string | null;
      actorRole: Principal['role'] | null;
      strict: boolean;
    },
  ): Promise<boolean> {
    const appt = await repo.lockAppointment(trx, id);
    if (!appt) throw notFound('Appointment');
    if (!(repo.CANCELLABLE as readonly string[]).includes(appt.status)) {
      if (!cause.strict) return false;
      throw new AppError('INVALID_TRANSITION', `A ${appt.status} appointment cannot be cancelled`, {
        status: appt.status,
      });
    }
    await repo.markCancelled(trx, id, this.deps.clock.now(), cause.reason);
    if (appt.kind === 'booked') await repo.adjustBookedCount(trx, appt.queueId, -1);
    const version = await recordQueueEvent(trx, {
      queueId: appt.queueId,
      type: 'cancelled',
      appointmentId: id,
      serial: appt.serial,
      actorId: cause.actorId,
      reason: cause.reason,
    });
    await emit('appointment.cancelled', {
      appointmentId: id,
      queueId: appt.queueId,
      actorId: cause.actorId,
      reason: cause.reason,
      kind: cause.kind,
      actorRole: cause.actorRole,
    });
    await emit('queue.changed', {
      queueId: appt.queueId,
      version,
      type: 'cancelled',
      appointmentId: id,
      serial: appt.serial,
    });
    if (appt.kind === 'booked') await this.waitlist.offerFreedPlaces(trx, emit, appt.queueId);
    return true;
  }

  /** For schedule changes: cancels many appointments, locking their queues in id order (no deadlocks). */
  readonly cancelAffected: CancelAffected = async (trx, emit, appointments, cause) => {
    const queueIds = [...new Set(appointments.map((a) => a.queueId))].sort();
    for (const queueId of queueIds) await lockQueue(trx, queueId);
    for (const a of appointments) {
      await this.cancelLocked(trx, emit, a.id, { ...cause, strict: false });
    }
  };

  async confirm(principal: Principal, id: string) {
    const row = await this.visible(principal, id);
    await this.deps.events.transaction(this.db, async (trx, emit) => {
      await lockQueue(trx, row.queueId);
      const appt = await repo.lockAppointment(trx, id);
      if (!appt) throw notFound('Appointment');
      if (appt.status !== 'booked') {
        throw new AppError('INVALID_TRANSITION', `A ${appt.status} appointment cannot be confirmed`, {
          status: appt.status,
        });
      }
      await repo.markConfirmed(trx, id, this.deps.clock.now());
      const version = await recordQueueEvent(trx, {
        queueId: appt.queueId,
        type: 'confirmed',
        appointmentId: id,
        serial: appt.serial,
        actorId: principal.id,
      });
      await emit('appointment.confirmed', { appointmentId: id, actorId: principal.id });
      await emit('queue.changed', {
        queueId: appt.queueId,
        version,
        type: 'confirmed',
        appointmentId: id,
        serial: appt.serial,
      });
    });
    return this.get(principal, id);
  }

  /**
   * Moves a booking to another session day in one transaction: the new place is taken (capacity, duplicate
   * and date rules checked) before the old one is released, and any refusal leaves the old booking as it was.
   * Both queues are locked in id order so two crossing reschedules cannot deadlock.
   */
  async reschedule(principal: Principal, id: string, target: { sessionId: string; date: string }) {
    const row = await this.visible(principal, id);
    const patient = this.isOwner(principal, row);
    if (patient) this.assertPatientBeforeCutoff(row, 'reschedule');
    if (principal.role === 'doctor' && principal.doctorId !== row.doctorId) throw notFound('Appointment');
    if (!row.profileId) throw new AppError('INVALID_TRANSITION', 'A walk-in cannot be rescheduled');
    const profileId = row.profileId;
    try {
      const newId = await this.#queueTurns.run(`${target.sessionId}|${target.date}`, () =>
        this.deps.events.transaction(this.db, async (trx, emit) => {
          const outline = await scheduleRepo.findSession(trx, target.sessionId);
          if (!outline) throw notFound('Session');
          for (const doctorId of [...new Set([outline.doctorId, row.doctorId])].sort())
            await scheduleRepo.keyShareDoctor(trx, doctorId);
          const session = await scheduleRepo.findSessionKeyShare(trx, target.sessionId);
          if (!session) throw notFound('Session');
          if (principal.role === 'staff' && session.hospitalId !== principal.hospitalId)
            throw forbidden('Staff book only into sessions of their own hospital');
          if (principal.role === 'doctor' && session.doctorId !== principal.doctorId)
            throw forbidden('A doctor moves bookings only within their own sessions');
          const now = this.deps.clock.now();
          const [timeOff, existingDay] = await Promise.all([
            scheduleRepo.timeOffOverlapping(trx, [session.doctorId], target.date, target.date),
            scheduleRepo.findSessionDay(trx, session.id, target.date),
          ]);
          const refusal = bookingRefusal(session, target.date, now, timeOff.length > 0, existingDay);
          if (refusal) throw notBookable(refusal);
          const newQueueId = existingDay?.id ?? (await ensureSessionDay(trx, session, target.date));
          if (newQueueId === row.queueId)
            throw new AppError('CONFLICT', 'The appointment is already in that session on that date');
          const locked = new Map<string, SessionDay>();
          for (const queueId of [newQueueId, row.queueId].sort()) {
            const day = await lockQueue(trx, queueId);
            if (day) locked.set(queueId, day);
          }
          const day = locked.get(newQueueId);
          if (!day) throw new Error('queue row missing after ensureSessionDay');
          const old = await repo.lockAppointment(trx, id);
          if (!old || (old.status !== 'booked' && old.status !== 'confirmed')) {
            throw new AppError(
              'INVALID_TRANSITION',
              `A ${old?.status ?? 'missing'} appointment cannot be rescheduled`,
            );
          }
          if (day.status === 'closed' || day.status === 'cancelled') throw notBookable('queue_closed');
          const duplicate = await repo.findActiveForProfile(trx, {
            profileId,
            doctorId: session.doctorId,
            date: target.date,
            excludeId: id,
          });
          if (duplicate)
            throw new AppError(
              'ALREADY_BOOKED',
              'This patient already has an appointment with this doctor that day',
            );
          const held = await waitlistRepo.heldOfferCount(trx, newQueueId, now);
          if (day.bookedCount + held >= day.capacity)
            throw new AppError('SESSION_FULL', 'This session is full on that date', { queueId: newQueueId });
          const serial = await takeNextSerial(trx, newQueueId);
          // The tracking link follows the booking: the old row gives its token hash to the new one.
          await repo.markCancelled(trx, id, now, 'Rescheduled', `moved:${id}`);
          await repo.adjustBookedCount(trx, row.queueId, -1);
          const newId = await repo.insertAppointment(trx, {
            queueId: newQueueId,
            doctorId: session.doctorId,
            date: target.date,
            profileId,
            bookedBy: row.bookedBy,
            serviceId: row.serviceId,
            serial,
            positionKey: serial,
            estimatedAt: estimatedAt(day.startsAt, serial, day.slotMinutes),
            trackingTokenHash: old.trackingTokenHash,
            fee: session.fee,
            bookedAt: now,
          });
          await repo.adjustBookedCount(trx, newQueueId, 1);
          const oldVersion = await recordQueueEvent(trx, {
            queueId: row.queueId,
            type: 'cancelled',
            appointmentId: id,
            serial: old.serial,
            actorId: principal.id,
            reason: 'rescheduled',
            data: { rescheduledTo: newId },
          });
          const newVersion = await recordQueueEvent(trx, {
            queueId: newQueueId,
            type: 'booked',
            appointmentId: newId,
            serial,
            actorId: principal.id,
            data: { rescheduledFrom: id },
          });
          await emit('appointment.booked', {
            appointmentId: newId,
            queueId: newQueueId,
            actorId: principal.id,
            rescheduledFrom: id,
          });
          await emit('appointment.rescheduled', {
            appointmentId: newId,
            previousAppointmentId: id,
            actorId: principal.id,
          });
          await emit('queue.changed', {
            queueId: row.queueId,
            version: oldVersion,
            type: 'cancelled',
            appointmentId: id,
            serial: old.serial,
          });
          await emit('queue.changed', {
            queueId: newQueueId,
            version: newVersion,
            type: 'booked',
            appointmentId: newId,
            serial,
          });
          await this.waitlist.offerFreedPlaces(trx, emit, row.queueId);
          return newId;
        }),
      );
      return this.get(principal, newId);
    } catch (err) {
      throw await this.explain(err, target.sessionId, target.date);
    }
  }

  /** Takes up a waitlist offer: books the held place for the entry's profile. */
  async acceptOffer(principal: Principal, entryId: string) {
    const entry = await this.waitlist.ownEntry(principal, entryId);
    const now = this.deps.clock.now();
    if (entry.status !== 'offered' || !entry.offerExpiresAt || entry.offerExpiresAt <= now) {
      throw new AppError('CONFLICT', 'There is no open offer on this waitlist entry', {
        status: entry.status,
      });
    }
    const day = await scheduleRepo.findSessionDayById(this.db, entry.queueId);
    if (!day) throw notFound('Queue');
    try {
      const placed = await this.#queueTurns.run(`${day.sessionId}|${day.date}`, () =>
        this.deps.events.transaction(this.db, async (trx, emit) => {
          const placed = await this.place(
            trx,
            emit,
            {
              principal,
              sessionId: day.sessionId,
              date: day.date,
              profileId: entry.profileId,
              serviceId: null,
              offerEntryId: entry.id,
            },
            null,
          );
          const fresh = await waitlistRepo.findWaitlistEntry(trx, entry.id);
          if (fresh?.status !== 'offered' || !fresh.offerExpiresAt || fresh.offerExpiresAt <= now)
            throw new AppError('CONFLICT', 'The offer lapsed before it was taken up');
          await waitlistRepo.setWaitlistStatus(
            trx,
            entry.id,
            { status: 'booked', appointmentId: placed.appointmentId },
            now,
          );
          return placed;
        }),
      );
      return await this.bookedView({
        appointmentId: placed.appointmentId,
        trackingToken: placed.view.trackingToken,
      });
    } catch (err) {
      throw await this.explain(err, day.sessionId, day.date);
    }
  }
}

function alreadyBooked(appointmentId?: string): AppError {
  return new AppError(
    'ALREADY_BOOKED',
    'This patient already has an appointment with this doctor that day',
    appointmentId ? { appointmentId } : undefined,
  );
}

function sessionFull(queueId: string): AppError {
  return new AppError('SESSION_FULL', 'This session is full on that date', { queueId, waitlist: true });
}

function notBookable(reason: string): AppError {
  const messages: Record<string, string> = {
    past: 'That date has passed',
    not_session_day: 'The doctor has no such session on that weekday',
    outside_validity: 'The session does not run on that date',
    time_off: 'The doctor is away on that date',
    not_open_yet: 'Booking for that date has not opened yet',
    booking_closed: 'Booking for that session has closed',
    queue_closed: 'That day’s queue is closed',
  };
  return new AppError('DATE_NOT_BOOKABLE', messages[reason] ?? 'That date cannot be booked', { reason });
}

function canSee(principal: Principal, row: Detail): boolean {
  switch (principal.role) {
    case 'admin':
      return true;
    case 'doctor':
      return principal.doctorId === row.doctorId;
    case 'staff':
      return principal.hospitalId !== null && principal.hospitalId === row.hospitalId;
    case 'patient':
      return row.profileAccountId === principal.id || row.bookedBy === principal.id;
    default:
      return false;
  }
}
