// Taking a place in a session day inside the caller's transaction: for a booking and for a waitlist take-up.
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { Emit } from '../../events.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Principal } from '../../plugins/auth.js';
import type { LiveQueue } from '../queue/queue.live.js';
import { ensureSessionDay } from '../schedule/schedule.days.js';
import { bookingRefusal } from '../schedule/schedule.rules.js';
import * as bookingRepo from './appointments.booking.repository.js';
import { toAppointmentView } from './appointments.reads.js';
import { notBookable, Replay, sessionFull } from './appointments.refusals.js';
import type * as repo from './appointments.repository.js';

type Trx = Transaction<Database>;
type Detail = repo.AppointmentDetail;

export interface PlaceRequest {
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

export interface PlaceDeps {
  clock: Clock;
  /** The live queue: a booking hands it the entry it adds, so the commit handler need not read it back. */
  live?: Pick<LiveQueue, 'stage' | 'unstage'>;
}

/**
 * Takes a place in a session day inside the caller's transaction, in two statements: the first takes the
 * doctor's and the session's key-share locks and the queue row's lock and reads the rules (creating the
 * day's queue row first if this is its first booking); the date rules are checked again; the second checks
 * time off, the queue's status, capacity (held waitlist offers included), claims the Idempotency-Key and
 * takes the serial, inserting the appointment and its queue event. The one-per-day rule is enforced by the
 * partial unique index. Anything refused throws before commit, so no serial is used.
 */
export async function takePlace(
  deps: PlaceDeps,
  trx: Trx,
  emit: Emit,
  req: PlaceRequest,
  profileName: string | null,
  onStaged?: (unstage: () => void) => void,
) {
  const { principal } = req;
  const now = deps.clock.now();
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
  const live = onStaged ? deps.live : undefined;
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
