// Booking: refusals from one read before any transaction, a per-day turn so that a burst waits in memory
// rather than holding pool connections on the queue's row lock, Idempotency-Key replays, SESSION_FULL
// alternatives computed once per burst, and the take-up of a waitlist offer. The place itself is taken by
// the day ledger.
import { createHash } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { DomainEvents } from '../../events.js';
import type { Principal } from '../../plugins/auth.js';
import type { Booked, BookingSession, BookRequest, DayBookings } from '../day/day.bookings.js';
import { alreadyBooked, notBookable, Replay, sessionFull, uniqueViolation } from '../day/day.refusals.js';
import { bookingRefusal } from '../schedule/schedule.rules.js';
import type { ScheduleService } from '../schedule/schedule.service.js';
import * as bookingRepo from './appointments.booking.repository.js';
import * as idempotencyRepo from './appointments.idempotency.repository.js';
import type { KeyedMutex } from './appointments.mutex.js';
import { type AppointmentReads, toAppointmentView } from './appointments.reads.js';
import * as repo from './appointments.repository.js';
import type { BookingBodySchema } from './appointments.schema.js';
import type { WaitlistService } from './appointments.waitlist.js';
import * as waitlistRepo from './appointments.waitlist.repository.js';

export interface BookingDeps {
  db: DB;
  clock: Clock;
  ledger: DayBookings;
  events: DomainEvents;
  schedule: ScheduleService;
  /** Per session day; shared with reschedules into the same day. */
  queueTurns: KeyedMutex<{ queueId: string }>;
  reads: AppointmentReads;
  waitlist: WaitlistService;
}

type Alternatives = Awaited<ReturnType<ScheduleService['alternatives']>>;

export class BookingService {
  /** A burst against a full session asks for the same alternatives many times; they are advice, not state. */
  /** Promises, so that a burst of refusals computes one set of alternatives, not one each. */
  readonly #alternatives = new LRUCache<string, Promise<Alternatives>>({ max: 1000, ttl: 5_000 });

  constructor(private readonly deps: BookingDeps) {}

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
    const req: BookRequest = {
      actor: principal,
      sessionId: body.sessionId,
      date: body.date,
      profileId,
      profileName: null,
      serviceId: body.serviceId ?? null,
      serial: body.serial,
      idempotency: idempotencyKey
        ? {
            key: idempotencyKey,
            requestHash,
            response: (appointmentId, trackingToken) => ({ appointmentId, trackingToken }),
          }
        : undefined,
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
    const who = {
      profileId,
      serviceId: req.serviceId,
      bookedBy: principal.id,
      profileName: outline.profile?.name ?? null,
    };
    try {
      const session = this.precheck(req, outline);
      const { day, rulesTag } = outline;
      const liveMeta = day ? await this.deps.ledger.peekMeta(day.id) : null;
      const read = { ...req, profileName: who.profileName, liveMeta };
      // A day that exists: the whole booking in one statement, unless a handler cannot draft its writes.
      if (day && rulesTag) {
        const placed = await this.deps.ledger.bookAtOnce(this.db, this.deps.events, read, {
          session,
          day,
          rulesTag,
        });
        if (placed) return bookedView(placed, who);
      }
      const key = `${req.sessionId}|${req.date}`;
      const turn = await this.deps.queueTurns.acquire(key);
      try {
        // A holder ahead of us saw the day fill after we looked: refused without a transaction.
        if (turn.note) throw sessionFull(turn.note.queueId);
        const placed = await this.deps.events.transaction(this.db, async (trx, emit) => {
          const result = await this.deps.ledger.book(trx, emit, read);
          // The commit is next: the following holder may open its transaction and wait on the row lock.
          if (!result.filled) turn.release();
          return result;
        });
        if (placed.filled) this.deps.queueTurns.note(key, { queueId: placed.queueId });
        return bookedView(placed, who);
      } catch (err) {
        if (err instanceof AppError && err.code === 'SESSION_FULL') {
          const queueId = (err.details as { queueId?: string } | undefined)?.queueId;
          if (queueId) this.deps.queueTurns.note(key, { queueId });
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
    return this.deps.reads.bookedView(prior.response as { appointmentId: string; trackingToken: string });
  }

  /** Maps constraint races to their documented codes and gives SESSION_FULL its alternatives. */
  async explain(err: unknown, sessionId: string, date: string): Promise<unknown> {
    if (uniqueViolation(err, 'appointments_one_active_idx'))
      return new AppError(
        'ALREADY_BOOKED',
        'This patient already has an appointment with this doctor that day',
      );
    if (err instanceof AppError && err.code === 'SESSION_FULL') {
      const key = `${sessionId}|${date}`;
      let pending = this.#alternatives.get(key);
      if (!pending) {
        pending = this.deps.schedule
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
  private precheck(req: BookRequest, outline: bookingRepo.BookingOutline): BookingSession {
    const { session, day } = outline;
    if (!session) throw notFound('Session');
    if (req.actor.role === 'staff' && session.hospitalId !== req.actor.hospitalId)
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
    return session;
  }

  /** Takes up a waitlist offer: books the held place for the entry's profile. */
  async acceptOffer(principal: Principal, entryId: string) {
    const entry = await this.deps.waitlist.ownEntry(principal, entryId);
    const now = this.deps.clock.now();
    if (entry.status !== 'offered' || !entry.offerExpiresAt || entry.offerExpiresAt <= now) {
      throw new AppError('CONFLICT', 'There is no open offer on this waitlist entry', {
        status: entry.status,
      });
    }
    const day = await this.deps.ledger.findDay(this.db, entry.queueId);
    if (!day) throw notFound('Queue');
    try {
      const placed = await this.deps.queueTurns.run(`${day.sessionId}|${day.date}`, () =>
        this.deps.events.transaction(this.db, async (trx, emit) => {
          const placed = await this.deps.ledger.book(trx, emit, {
            actor: principal,
            sessionId: day.sessionId,
            date: day.date,
            profileId: entry.profileId,
            profileName: null,
            serviceId: null,
            offerEntryId: entry.id,
          });
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
      return await this.deps.reads.bookedView({
        appointmentId: placed.appointmentId,
        trackingToken: placed.trackingToken ?? '',
      });
    } catch (err) {
      throw await this.explain(err, day.sessionId, day.date);
    }
  }
}

/** The booking's answer from what the ledger wrote: no read-back. */
function bookedView(
  b: Booked,
  who: { profileId: string; serviceId: string | null; bookedBy: string; profileName: string | null },
) {
  const { session, day } = b;
  const view = toAppointmentView({
    id: b.appointmentId,
    queueId: b.queueId,
    doctorId: session.doctorId,
    date: b.date,
    profileId: who.profileId,
    bookedBy: who.bookedBy,
    serviceId: who.serviceId,
    serial: b.serial,
    kind: 'booked',
    status: 'booked',
    estimatedAt: b.estimatedAt,
    fee: b.fee,
    cancelReason: null,
    bookedAt: b.bookedAt,
    confirmedAt: null,
    cancelledAt: null,
    trackingTokenHash: '',
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
    profileName: who.profileName,
    profileAccountId: null,
  });
  return { ...view, trackingToken: b.trackingToken ?? '' };
}
