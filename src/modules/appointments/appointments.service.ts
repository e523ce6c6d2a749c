// Booking, reschedule, cancel and confirm: every change takes the queue's row lock, keeps booked_count,
// bumps the queue version with a queue_events row and emits domain events in the same transaction.
import { createHash } from 'node:crypto';
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
import { lockQueue, recordQueueEvent, takeNextSerial } from '../queue/queue.repository.js';
import type { SessionDay } from '../queue/queue.table.js';
import * as scheduleRepo from '../schedule/schedule.repository.js';
import { bookingRefusal, estimatedAt } from '../schedule/schedule.rules.js';
import { type CancelAffected, ensureSessionDay, type ScheduleService } from '../schedule/schedule.service.js';
import { toZonedIso } from '../schedule/schedule.time.js';
import { KeyedMutex } from './appointments.mutex.js';
import * as repo from './appointments.repository.js';
import type { AppointmentListQuerySchema, BookingBodySchema } from './appointments.schema.js';
import { WaitlistService } from './appointments.waitlist.js';

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
}

type Alternatives = Awaited<ReturnType<ScheduleService['alternatives']>>;

export class AppointmentsService {
  readonly waitlist: WaitlistService;
  /** A burst against a full session asks for the same alternatives many times; they are advice, not state. */
  readonly #queueTurns = new KeyedMutex();
  readonly #alternatives = new LRUCache<string, Alternatives>({ max: 1000, ttl: 5_000 });

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
    if (body.serviceId && !(await repo.serviceExists(this.db, body.serviceId))) throw notFound('Service');
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
    if (idempotencyKey) {
      const prior = await this.replay(principal.id, idempotencyKey, requestHash);
      if (prior) return prior;
    }
    const req: PlaceRequest = {
      principal,
      sessionId: body.sessionId,
      date: body.date,
      profileId,
      serviceId: body.serviceId ?? null,
      serial: body.serial,
    };
    try {
      const outline = await this.precheck(req);
      const placed = await this.#queueTurns.run(`${req.sessionId}|${req.date}`, async (waited) => {
        // Waiting for the turn may have taken a while: a queue filled meanwhile is refused without a lock.
        if (waited) {
          const day = await scheduleRepo.findSessionDay(this.db, req.sessionId, req.date);
          if (day && day.bookedCount >= day.capacity) throw sessionFull(day.id);
        }
        return this.deps.events.transaction(this.db, async (trx, emit) => {
          if (
            idempotencyKey &&
            !(await repo.claimIdempotency(trx, principal.id, idempotencyKey, requestHash))
          )
            throw new Replay(idempotencyKey);
          const result = await this.place(trx, emit, req, outline);
          if (idempotencyKey)
            await repo.storeIdempotentResult(trx, principal.id, idempotencyKey, 201, result);
          return result;
        });
      });
      return await this.bookedView(placed);
    } catch (err) {
      if (err instanceof Replay) {
        const prior = await this.replay(principal.id, err.key, requestHash);
        if (prior) return prior;
      }
      throw await this.explain(err, body.sessionId, body.date);
    }
  }

  private async replay(userId: string, key: string, requestHash: string) {
    const prior = await repo.findIdempotency(this.db, userId, key);
    if (!prior) return null;
    if (prior.requestHash !== requestHash) {
      throw new AppError('CONFLICT', 'This Idempotency-Key was already used for a different request', {
        reason: 'idempotency_key_reused',
      });
    }
    // A claim whose booking has not committed yet is invisible here; statusCode 0 never escapes a transaction.
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
      let alternatives = this.#alternatives.get(key);
      if (!alternatives) {
        const session = await scheduleRepo.findSession(this.db, sessionId);
        alternatives = session
          ? await this.deps.schedule.alternatives(session, date)
          : { dates: [], doctors: [] };
        this.#alternatives.set(key, alternatives);
      }
      const details = (err.details ?? {}) as Record<string, unknown>;
      return new AppError('SESSION_FULL', err.message, { ...details, alternatives });
    }
    return err;
  }

  /**
   * Refusals that need no lock, checked before a transaction is opened so that a burst against a full
   * session or a repeated tap does not queue up on the queue's row lock. `place` checks all of them again
   * under the locks (a stale "room" here is harmless; a stale "full" is the same as arriving a moment later).
   */
  private async precheck(req: PlaceRequest) {
    const session = await scheduleRepo.findSession(this.db, req.sessionId);
    if (!session) throw notFound('Session');
    if (req.principal.role === 'staff' && session.hospitalId !== req.principal.hospitalId)
      throw forbidden('Staff book only into sessions of their own hospital');
    const [timeOff, day, duplicate] = await Promise.all([
      scheduleRepo.timeOffOverlapping(this.db, [session.doctorId], req.date, req.date),
      scheduleRepo.findSessionDay(this.db, session.id, req.date),
      repo.findActiveForProfile(this.db, {
        profileId: req.profileId,
        doctorId: session.doctorId,
        date: req.date,
      }),
    ]);
    const refusal = bookingRefusal(session, req.date, this.deps.clock.now(), timeOff.length > 0, day);
    if (refusal) throw notBookable(refusal);
    if (duplicate) throw alreadyBooked(duplicate.id);
    if (day && day.bookedCount >= day.capacity) throw sessionFull(day.id);
    return { doctorId: session.doctorId, queueId: day?.id };
  }

  /**
   * Takes a place in a session day inside the caller's transaction: checks the date rules again under the
   * doctor's and the session's key-share locks, locks the queue row, then checks capacity (held waitlist
   * offers included) and takes the serial. The one-per-day rule is enforced here by the partial unique
   * index. Anything refused throws before commit, so no serial is used.
   */
  private async place(
    trx: Trx,
    emit: Emit,
    req: PlaceRequest,
    outline: { doctorId: string; queueId?: string },
  ) {
    const { principal } = req;
    await scheduleRepo.keyShareDoctor(trx, outline.doctorId);
    const session = await scheduleRepo.findSessionKeyShare(trx, req.sessionId);
    if (!session) throw notFound('Session');
    if (principal.role === 'staff' && session.hospitalId !== principal.hospitalId)
      throw forbidden('Staff book only into sessions of their own hospital');
    const now = this.deps.clock.now();
    const timeOff = await scheduleRepo.timeOffOverlapping(trx, [session.doctorId], req.date, req.date);
    const early = bookingRefusal(session, req.date, now, timeOff.length > 0);
    if (early) throw notBookable(early);
    const queueId = outline.queueId ?? (await ensureSessionDay(trx, session, req.date));
    const day = await lockQueue(trx, queueId);
    if (!day) throw new Error('queue row missing after ensureSessionDay');
    const refusal = bookingRefusal(session, req.date, now, false, day);
    if (refusal) throw notBookable(refusal);
    const held = await repo.heldOfferCount(trx, queueId, now, req.offerEntryId);
    if (day.bookedCount + held >= day.capacity) throw sessionFull(queueId);
    const serial = await this.chooseSerial(trx, day, req.serial);
    const token = newOpaqueToken();
    const id = await repo.insertAppointment(trx, {
      queueId,
      doctorId: session.doctorId,
      date: req.date,
      profileId: req.profileId,
      bookedBy: principal.id,
      serviceId: req.serviceId,
      serial,
      positionKey: serial,
      estimatedAt: estimatedAt(day.startsAt, serial, day.slotMinutes),
      trackingTokenHash: hashToken(token),
      fee: session.fee,
      bookedAt: now,
    });
    await repo.adjustBookedCount(trx, queueId, 1);
    const version = await recordQueueEvent(trx, {
      queueId,
      type: 'booked',
      appointmentId: id,
      serial,
      actorId: principal.id,
    });
    await emit('appointment.booked', {
      appointmentId: id,
      queueId,
      actorId: principal.id,
      trackingToken: token,
    });
    await emit('queue.changed', { queueId, version, type: 'booked', appointmentId: id, serial });
    return { appointmentId: id, trackingToken: token };
  }

  /** The booked appointment as answered, read after commit. */
  private async bookedView(placed: { appointmentId: string; trackingToken: string }) {
    const detail = await repo.findDetail(this.db, placed.appointmentId);
    if (!detail) throw notFound('Appointment');
    return { ...toAppointmentView(detail), trackingToken: placed.trackingToken };
  }

  private async chooseSerial(trx: Trx, day: SessionDay, requested: number | undefined): Promise<number> {
    if (requested === undefined) return takeNextSerial(trx, day.id);
    if (requested > day.capacity || (await repo.serialUsed(trx, day.id, requested))) {
      throw new AppError('CONFLICT', `Serial ${requested} is not free in this session`, {
        reason: 'serial_taken',
      });
    }
    return requested;
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
          const held = await repo.heldOfferCount(trx, newQueueId, now);
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
            { doctorId: day.doctorId, queueId: day.id },
          );
          const fresh = await repo.findWaitlistEntry(trx, entry.id);
          if (fresh?.status !== 'offered' || !fresh.offerExpiresAt || fresh.offerExpiresAt <= now)
            throw new AppError('CONFLICT', 'The offer lapsed before it was taken up');
          await repo.setWaitlistStatus(
            trx,
            entry.id,
            { status: 'booked', appointmentId: placed.appointmentId },
            now,
          );
          return placed;
        }),
      );
      return await this.bookedView(placed);
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
