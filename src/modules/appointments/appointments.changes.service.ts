// Changes to a booking asked for over the API or by SMS: cancel, confirm and reschedule. Who may, and the
// patients' cut-off, are checked here; the day ledger makes each change (locks, version, event, messages).
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { DomainEvents } from '../../events.js';
import type { Principal } from '../../plugins/auth.js';
import type { DayBookings } from '../day/day.bookings.js';
import { notBookable } from '../day/day.refusals.js';
import { bookingRefusal } from '../schedule/schedule.rules.js';
import type { ScheduleService } from '../schedule/schedule.service.js';
import type { BookingService } from './appointments.booking.service.js';
import type { KeyedMutex } from './appointments.mutex.js';
import type { AppointmentReads } from './appointments.reads.js';
import type * as repo from './appointments.repository.js';

export interface ChangesDeps {
  db: DB;
  clock: Clock;
  events: DomainEvents;
  ledger: DayBookings;
  schedule: Pick<ScheduleService, 'findSession'>;
  /** Patients may cancel or reschedule until this many minutes before the session starts. */
  cancelCutoffMinutes: number;
  /** Per session day; a reschedule takes the target day's turn like a booking. */
  queueTurns: KeyedMutex<{ queueId: string }>;
  booking: Pick<BookingService, 'explain'>;
  reads: AppointmentReads;
}

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
    await this.deps.events.transaction(this.db, (trx, emit) =>
      this.deps.ledger.cancel(trx, emit, id, {
        reason: reason ?? (patient ? 'Cancelled by the patient' : 'Cancelled by the clinic'),
        kind: patient ? 'patient' : 'clinic',
        actor: principal,
        strict: true,
      }),
    );
    return this.deps.reads.get(principal, id);
  }

  async confirm(principal: Principal, id: string) {
    await this.deps.reads.visible(principal, id);
    await this.deps.events.transaction(this.db, (trx, emit) =>
      this.deps.ledger.confirm(trx, emit, id, principal),
    );
    return this.deps.reads.get(principal, id);
  }

  /**
   * Moves a booking to another session day in one transaction (the ledger cancels the old place and takes
   * the new one under the booking rules); any refusal leaves the old booking as it was.
   */
  async reschedule(principal: Principal, id: string, target: { sessionId: string; date: string }) {
    const row = await this.deps.reads.visible(principal, id);
    const patient = this.isOwner(principal, row);
    if (patient) this.assertPatientBeforeCutoff(row, 'reschedule');
    if (principal.role === 'doctor' && principal.doctorId !== row.doctorId) throw notFound('Appointment');
    if (!row.profileId) throw new AppError('INVALID_TRANSITION', 'A walk-in cannot be rescheduled');
    try {
      const newId = await this.deps.queueTurns.run(`${target.sessionId}|${target.date}`, () =>
        this.deps.events.transaction(this.db, async (trx, emit) => {
          const session = await this.deps.schedule.findSession(trx, target.sessionId);
          if (!session) throw notFound('Session');
          if (principal.role === 'staff' && session.hospitalId !== principal.hospitalId)
            throw forbidden('Staff book only into sessions of their own hospital');
          if (principal.role === 'doctor' && session.doctorId !== principal.doctorId)
            throw forbidden('A doctor moves bookings only within their own sessions');
          const existing = await this.deps.ledger.findDayOf(trx, session.id, target.date);
          if (!existing) {
            // The ledger checks every rule under the locks; the date rules first, before a day row exists.
            const early = bookingRefusal(session, target.date, this.deps.clock.now(), false);
            if (early) throw notBookable(early);
          }
          const queueId = existing?.id ?? (await this.deps.ledger.openDay(trx, session, target.date));
          const booked = await this.deps.ledger.reschedule(
            trx,
            emit,
            id,
            { ...target, queueId, profileName: row.profileName },
            principal,
          );
          return booked.appointmentId;
        }),
      );
      return this.deps.reads.get(principal, newId);
    } catch (err) {
      throw await this.deps.booking.explain(err, target.sessionId, target.date);
    }
  }
}
