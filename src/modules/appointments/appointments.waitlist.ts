// Waitlists of full sessions: a freed place is offered to the first waiting patient and held for a while;
// held offers count against capacity, so an offer can never overbook. Lapsed offers pass to the next.
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database, DB } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import type { DomainEvents, Emit } from '../../events.js';
import type { Principal } from '../../plugins/auth.js';
import type { DayBookings } from '../day/day.bookings.js';
import { bookingRefusal } from '../schedule/schedule.rules.js';
import type { ScheduleService } from '../schedule/schedule.service.js';
import * as repo from './appointments.repository.js';
import type { WaitlistEntry } from './appointments.table.js';
import * as waitlistRepo from './appointments.waitlist.repository.js';

export interface WaitlistDeps {
  db: DB;
  clock: Clock;
  events: DomainEvents;
  ledger: Pick<DayBookings, 'findDay' | 'lockDay'>;
  schedule: Pick<ScheduleService, 'findSession' | 'timeOffOverlapping'>;
  /** How long an offered place is held. @default 30 */
  offerMinutes: number;
  publicUrl: string;
  resolveProfile(principal: Principal, profileId: string | undefined): Promise<string>;
}

export function toWaitlistView(e: WaitlistEntry) {
  return {
    id: e.id,
    queueId: e.queueId,
    profileId: e.profileId,
    status: e.status,
    offeredAt: e.offeredAt ? e.offeredAt.toISOString() : null,
    offerExpiresAt: e.offerExpiresAt ? e.offerExpiresAt.toISOString() : null,
    appointmentId: e.appointmentId,
    createdAt: e.createdAt.toISOString(),
  };
}

export class WaitlistService {
  constructor(private readonly deps: WaitlistDeps) {}

  /** A booked place freed by the day ledger (cancel, reschedule, schedule change) goes to the waitlist. */
  subscribe(): void {
    this.deps.events.inTransaction('appointment.cancelled', async (trx, e, emit) => {
      if (e.freedPlace) await this.offerFreedPlaces(trx, emit, e.queueId);
    });
  }

  async join(principal: Principal, queueId: string, profileIdInput: string | undefined) {
    const profileId = await this.deps.resolveProfile(principal, profileIdInput);
    const day = await this.deps.ledger.findDay(this.deps.db, queueId);
    if (!day) throw notFound('Queue');
    const session = await this.deps.schedule.findSession(this.deps.db, day.sessionId);
    if (!session) throw notFound('Queue');
    if (principal.role === 'staff' && session.hospitalId !== principal.hospitalId) throw notFound('Queue');
    const now = this.deps.clock.now();
    const timeOff = await this.deps.schedule.timeOffOverlapping(
      this.deps.db,
      [day.doctorId],
      day.date,
      day.date,
      session.hospitalId,
    );
    const refusal = bookingRefusal(session, day.date, now, timeOff.length > 0, day);
    if (refusal) throw new AppError('DATE_NOT_BOOKABLE', 'That date cannot be booked', { reason: refusal });
    return this.deps.events.transaction(this.deps.db, async (trx) => {
      const locked = await this.deps.ledger.lockDay(trx, queueId);
      if (!locked) throw notFound('Queue');
      const duplicate = await repo.findActiveForProfile(trx, {
        profileId,
        doctorId: locked.doctorId,
        date: locked.date,
      });
      if (duplicate) throw new AppError('ALREADY_BOOKED', 'This patient already has an appointment that day');
      const held = await waitlistRepo.heldOfferCount(trx, queueId, now);
      if (locked.bookedCount + held < locked.capacity)
        throw new AppError('CONFLICT', 'The session has room; book it instead', { reason: 'has_room' });
      if (await waitlistRepo.pendingWaitlistEntry(trx, queueId, profileId))
        throw new AppError('CONFLICT', 'This patient is already on the waitlist', {
          reason: 'already_waiting',
        });
      const entry = await waitlistRepo.insertWaitlistEntry(trx, {
        queueId,
        profileId,
        accountId: principal.id,
      });
      return toWaitlistView(entry);
    });
  }

  async list(principal: Principal) {
    const rows = await waitlistRepo.listWaitlistEntries(this.deps.db, principal.id);
    return { items: rows.map(toWaitlistView), nextCursor: null };
  }

  async ownEntry(principal: Principal, id: string): Promise<WaitlistEntry> {
    const entry = await waitlistRepo.findWaitlistEntry(this.deps.db, id);
    if (!entry || (entry.accountId !== principal.id && principal.role !== 'admin'))
      throw notFound('Waitlist entry');
    return entry;
  }

  async leave(principal: Principal, id: string) {
    const entry = await this.ownEntry(principal, id);
    await this.deps.events.transaction(this.deps.db, async (trx, emit) => {
      await this.deps.ledger.lockDay(trx, entry.queueId);
      const fresh = await waitlistRepo.findWaitlistEntry(trx, id);
      if (!fresh || (fresh.status !== 'waiting' && fresh.status !== 'offered')) return;
      await waitlistRepo.setWaitlistStatus(trx, id, { status: 'left' }, this.deps.clock.now());
      if (fresh.status === 'offered') await this.offerFreedPlaces(trx, emit, entry.queueId);
    });
  }

  /**
   * With the queue row locked by the caller: lapses expired offers, then offers each free place (capacity
   * minus active bookings minus held offers) to the next waiting patient.
   */
  async offerFreedPlaces(trx: Transaction<Database>, emit: Emit, queueId: string): Promise<number> {
    const now = this.deps.clock.now();
    await waitlistRepo.expireOffers(trx, queueId, now);
    const day = await this.deps.ledger.findDay(trx, queueId);
    if (!day || day.status === 'closed' || day.status === 'cancelled' || day.endsAt <= now) return 0;
    let room = day.capacity - day.bookedCount - (await waitlistRepo.heldOfferCount(trx, queueId, now));
    let offered = 0;
    while (room > 0) {
      const next = await waitlistRepo.firstWaiting(trx, queueId);
      if (!next) break;
      const expiresAt = new Date(now.getTime() + this.deps.offerMinutes * 60_000);
      await waitlistRepo.setWaitlistStatus(
        trx,
        next.id,
        { status: 'offered', offeredAt: now, offerExpiresAt: expiresAt },
        now,
      );
      await emit('waitlist.offered', {
        entryId: next.id,
        queueId,
        profileId: next.profileId,
        accountId: next.accountId,
        expiresAt: expiresAt.toISOString(),
        link: `${this.deps.publicUrl}/book?offer=${next.id}`,
      });
      room--;
      offered++;
    }
    return offered;
  }

  /** Passes lapsed offers on. Run by a timer on every instance; the queue lock keeps them from colliding. */
  async sweepLapsedOffers(): Promise<{ queues: number; offered: number }> {
    const queueIds = await waitlistRepo.queuesWithLapsedOffers(this.deps.db, this.deps.clock.now(), 100);
    let offered = 0;
    for (const queueId of queueIds) {
      offered += await this.deps.events.transaction(this.deps.db, async (trx, emit) => {
        await this.deps.ledger.lockDay(trx, queueId);
        return this.offerFreedPlaces(trx, emit, queueId);
      });
    }
    return { queues: queueIds.length, offered };
  }
}
