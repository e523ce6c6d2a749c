// Changes to a booking: cancel (one, or many for a schedule change), confirm and reschedule. Every change
// takes the queue's row lock, keeps booked_count, bumps the queue version with a queue_events row and emits
// domain events in the same transaction.
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database, DB } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { DomainEvents, Emit, EventMap } from '../../events.js';
import type { Principal } from '../../plugins/auth.js';
import { lockQueue, recordQueueEvent, takeNextSerial } from '../queue/queue.repository.js';
import type { SessionDay } from '../queue/queue.table.js';
import { ensureSessionDay } from '../schedule/schedule.days.js';
import * as scheduleRepo from '../schedule/schedule.repository.js';
import { bookingRefusal, estimatedAt } from '../schedule/schedule.rules.js';
import type { CancelAffected } from '../schedule/schedule.service.js';
import type { BookingService } from './appointments.booking.service.js';
import type { KeyedMutex } from './appointments.mutex.js';
import type { AppointmentReads } from './appointments.reads.js';
import { notBookable } from './appointments.refusals.js';
import * as repo from './appointments.repository.js';
import type { WaitlistService } from './appointments.waitlist.js';
import * as waitlistRepo from './appointments.waitlist.repository.js';

export interface ChangesDeps {
  db: DB;
  clock: Clock;
  events: DomainEvents;
  /** Patients may cancel or reschedule until this many minutes before the session starts. */
  cancelCutoffMinutes: number;
  /** Per session day; a reschedule takes the target day's turn like a booking. */
  queueTurns: KeyedMutex<{ queueId: string }>;
  booking: Pick<BookingService, 'explain'>;
  reads: AppointmentReads;
  waitlist: WaitlistService;
}

type Trx = Transaction<Database>;
type CancelKind = NonNullable<EventMap['appointment.cancelled']['kind']>;
type Detail = repo.AppointmentDetail;

export class AppointmentChanges {
  constructor(private readonly deps: ChangesDeps) {}

  private get db() {
    return this.deps.db;
  }

  private isOwner(principal: Principal, row: Detail): boolean {
    return (
      principal.role === 'patient' && (row.profileAccountId === principal.id || row.bookedBy === principal.id)
    );
  }

  private assertPatientBeforeCutoff(row: Detail, what: string) {
    const cutoff = row.startsAt.getTime() - this.deps.cancelCutoffMinutes * 60_000;
    if (this.deps.clock.now().getTime() >= cutoff) {
      throw forbidden(`It is too late to ${what} online; please call the clinic`);
    }
  }

  async cancel(principal: Principal, id: string, reason: string | undefined) {
    const row = await this.deps.reads.visible(principal, id);
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
    return this.deps.reads.get(principal, id);
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
    if (appt.kind === 'booked') await this.deps.waitlist.offerFreedPlaces(trx, emit, appt.queueId);
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
    const row = await this.deps.reads.visible(principal, id);
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
    return this.deps.reads.get(principal, id);
  }

  /**
   * Moves a booking to another session day in one transaction: the new place is taken (capacity, duplicate
   * and date rules checked) before the old one is released, and any refusal leaves the old booking as it was.
   * Both queues are locked in id order so two crossing reschedules cannot deadlock.
   */
  async reschedule(principal: Principal, id: string, target: { sessionId: string; date: string }) {
    const row = await this.deps.reads.visible(principal, id);
    const patient = this.isOwner(principal, row);
    if (patient) this.assertPatientBeforeCutoff(row, 'reschedule');
    if (principal.role === 'doctor' && principal.doctorId !== row.doctorId) throw notFound('Appointment');
    if (!row.profileId) throw new AppError('INVALID_TRANSITION', 'A walk-in cannot be rescheduled');
    const profileId = row.profileId;
    try {
      const newId = await this.deps.queueTurns.run(`${target.sessionId}|${target.date}`, () =>
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
          await this.deps.waitlist.offerFreedPlaces(trx, emit, row.queueId);
          return newId;
        }),
      );
      return this.deps.reads.get(principal, newId);
    } catch (err) {
      throw await this.deps.booking.explain(err, target.sessionId, target.date);
    }
  }
}
