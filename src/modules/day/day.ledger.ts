// The day ledger: the only code that changes a session day (its session_days row, the status of its
// appointments and its queue_events). One method per change, each inside the caller's transaction: lock the
// day (lockDay, or lockDays in id order when a change spans two), check the rule (day.rules.ts), write the
// rows, then #record bumps the version, appends the event and emits `queue.changed` — the one emit site.
// Messages due from a change are written by its in-transaction handlers (notifications), so a message
// exists exactly when the change does; the live projection and the broadcasts run after commit from the
// ops the change carries.
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { Emit, EventMap, QueueEventType } from '../../events.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Role } from '../accounts/accounts.table.js';
import type { Appointment } from '../appointments/appointments.table.js';
import type { LiveQueue } from '../queue/queue.live.js';
import { recallPositionKey } from '../queue/queue.projection.js';
import type { CloseBody, OperationResult, PauseBody, ReasonCode, WalkInBody } from '../queue/queue.schema.js';
import {
  CONSULT_SAMPLES,
  consultSeconds,
  etaAt,
  type QueueMeta,
  type QueueOp,
  rollingAverage,
} from '../queue/queue.store.js';
import { bookingRefusal } from '../schedule/schedule.rules.js';
import { notBookable, Replay, sessionFull } from './day.refusals.js';
import * as repo from './day.repository.js';
import {
  assertEntryTransition,
  assertQueueTransition,
  dayClosedReason,
  type EntryAction,
  liveEstimate,
  type PreviousOutcome,
  passOverBefore,
  stageOf,
} from './day.rules.js';

type Trx = Transaction<Database>;
type Live = NonNullable<EventMap['queue.changed']['live']>;

export interface DayActor {
  id: string | null;
  role?: Role | null;
}

export interface LedgerDeps {
  clock: Clock;
  /** Projection reads that never rebuild (safe inside a transaction): the ETAs a change tells patients. */
  live: Pick<LiveQueue, 'peekPosition' | 'peekMeta'>;
}

/** What one change did, recorded by #record. */
interface Change {
  type: QueueEventType;
  appointment?: Pick<Appointment, 'id' | 'serial'>;
  /** The status the API answers with. */
  status: string;
  ops: QueueOp[];
  reason?: string | null;
  data?: unknown;
  notice?: Live['notice'];
  /** The appointment's status after the change, for entries that left the line. */
  appointmentStatus?: string;
  /** Set when the change's statement already bumped the version and appended the event (booking). */
  version?: number;
  room?: 'filled' | 'freed';
  /** The projection cannot be patched (the day's shape changed): rebuild it from Postgres after commit. */
  rebuild?: boolean;
}

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

export class DayLedger {
  constructor(private readonly deps: LedgerDeps) {}

  #now(): Date {
    return this.deps.clock.now();
  }

  /** The day's projection meta without a rebuild; null when the store has none or cannot be reached. */
  peekMeta(queueId: string): Promise<QueueMeta | null> {
    return this.deps.live.peekMeta(queueId).catch(() => null);
  }

  // ---- the one commit point ----

  async #record(trx: Trx, emit: Emit, day: { id: string; hospitalId: string }, actor: DayActor, c: Change) {
    const version =
      c.version ??
      (await repo.recordQueueEvent(trx, {
        queueId: day.id,
        type: c.type,
        appointmentId: c.appointment?.id ?? null,
        serial: c.appointment?.serial ?? null,
        actorId: actor.id,
        reason: c.reason ?? null,
        data: c.data,
      }));
    await emit('queue.changed', {
      queueId: day.id,
      version,
      type: c.type,
      ...(c.appointment ? { appointmentId: c.appointment.id, serial: c.appointment.serial } : {}),
      ...(c.room ? { room: c.room } : {}),
      ...(c.rebuild
        ? {}
        : {
            live: {
              ops: c.ops,
              hospitalId: day.hospitalId,
              ...(c.appointmentStatus ? { appointmentStatus: c.appointmentStatus } : {}),
              ...(c.notice ? { notice: c.notice } : {}),
            },
          }),
    });
    return {
      queueId: day.id,
      version,
      type: c.type,
      appointmentId: c.appointment?.id ?? null,
      serial: c.appointment?.serial ?? null,
      status: c.status,
    } satisfies OperationResult;
  }

  // ---- queue operations (staff and doctors) ----

  /** Locks the day and checks it takes operations now and, with `ifMatch`, that nobody changed it since. */
  async open(
    trx: Trx,
    queueId: string,
    opts: { ifMatch?: number; calling?: boolean } = {},
  ): Promise<repo.LockedDay> {
    const day = await repo.lockDay(trx, queueId);
    if (!day) throw notFound('Queue');
    const closed = dayClosedReason(day, this.#now(), opts.calling === true);
    if (closed) throw closed;
    if (opts.ifMatch !== undefined && opts.ifMatch !== day.version)
      throw new AppError('VERSION_CONFLICT', 'The queue changed since you last saw it', {
        currentVersion: day.version,
      });
    return day;
  }

  /**
   * Ends the visit in progress (completed unless the caller says otherwise), then calls the first patient in
   * line who is checked in or not yet late; an absent patient passed over keeps their place.
   */
  async callNext(
    trx: Trx,
    emit: Emit,
    day: repo.LockedDay,
    actor: DayActor,
    previous: PreviousOutcome = 'complete',
  ): Promise<OperationResult> {
    const front = await repo.firstWaiting(trx, day.id);
    if (!front) throw new AppError('INVALID_TRANSITION', 'Nobody is waiting in this queue');
    const now = this.#now();
    const late = passOverBefore(now);
    const callable = front.status === 'checked_in' || front.estimatedAt > late;
    const head = callable ? front : ((await repo.firstCallable(trx, day.id, late)) ?? front);
    await this.#finishCurrent(trx, emit, day, actor, previous);
    return this.#call(trx, emit, day, actor, head, null, head.id !== front.id, head.id !== front.id);
  }

  /** One action on one entry of an open day. */
  async entry(
    trx: Trx,
    emit: Emit,
    day: repo.LockedDay,
    actor: DayActor,
    appointmentId: string,
    action: EntryAction,
    opts: { reason?: ReasonCode; previous?: PreviousOutcome } = {},
  ): Promise<OperationResult> {
    const row = await repo.lockAppointment(trx, day.id, appointmentId);
    if (!row) throw notFound('Appointment in this queue');
    assertEntryTransition(action, row.status);
    switch (action) {
      case 'check-in':
        return this.checkIn(trx, emit, day, actor, row);
      case 'call': {
        const head = await repo.firstWaiting(trx, day.id);
        const outOfOrder = head?.id !== row.id;
        if (outOfOrder && !opts.reason)
          throw new AppError('VALIDATION_FAILED', 'Calling out of order needs a reason', { field: 'reason' });
        await this.#finishCurrent(trx, emit, day, actor, opts.previous ?? 'complete');
        return this.#call(trx, emit, day, actor, row, outOfOrder ? (opts.reason ?? null) : null, outOfOrder);
      }
      case 'complete':
        return this.#complete(trx, emit, day, actor, row);
      case 'skip':
        return this.#skip(trx, emit, day, actor, row);
      case 'no-show':
        return this.#noShow(trx, emit, day, actor, row);
      case 'recall':
        return this.#recall(trx, emit, day, actor, row, opts.reason);
    }
  }

  async #finishCurrent(trx: Trx, emit: Emit, day: repo.LockedDay, actor: DayActor, outcome: PreviousOutcome) {
    const current = await repo.currentlyCalled(trx, day.id);
    if (!current) return;
    if (outcome === 'skip') await this.#skip(trx, emit, day, actor, current);
    else if (outcome === 'no-show') await this.#noShow(trx, emit, day, actor, current);
    else await this.#complete(trx, emit, day, actor, current);
  }

  async #call(
    trx: Trx,
    emit: Emit,
    day: repo.LockedDay,
    actor: DayActor,
    row: Appointment,
    reason: ReasonCode | null,
    outOfOrder: boolean,
    passedOver = false,
  ) {
    const now = this.#now();
    await repo.updateAppointment(trx, row.id, { status: 'called', calledAt: now });
    await repo.updateDay(trx, day.id, { nowServing: row.serial });
    return this.#record(trx, emit, day, actor, {
      type: 'called',
      appointment: row,
      status: 'called',
      reason,
      // ETA accuracy: the prediction shown at check-in (or walk-in) is in that event's data.etaAt; this
      // event's `at` is the real call time. The scheduled estimate is the other baseline.
      data: {
        outOfOrder,
        ...(passedOver ? { passedOver: true } : {}),
        scheduledAt: new Date(row.estimatedAt).toISOString(),
        waitedSeconds: row.checkedInAt
          ? Math.round((now.getTime() - new Date(row.checkedInAt).getTime()) / 1000)
          : null,
      },
      ops: [
        outOfOrder
          ? { op: 'call', appointmentId: row.id, outOfOrder: true }
          : { op: 'call', appointmentId: row.id },
      ],
    });
  }

  /** The served patient left the room: nobody is being served until the next call. */
  #leavesService(row: Appointment, ops: QueueOp[]): QueueOp[] {
    return row.status === 'called' ? [...ops, { op: 'meta', patch: { nowServing: null } }] : ops;
  }

  async #complete(trx: Trx, emit: Emit, day: repo.LockedDay, actor: DayActor, row: Appointment) {
    const now = this.#now();
    const seconds = consultSeconds(row.calledAt ?? now, now);
    await repo.updateAppointment(trx, row.id, { status: 'completed', completedAt: now });
    const samples = (await repo.recentConsultSeconds(trx, day.id, CONSULT_SAMPLES)).reverse();
    await repo.updateDay(trx, day.id, {
      avgConsultSeconds: rollingAverage(samples, day.slotMinutes),
      nowServing: null,
    });
    return this.#record(trx, emit, day, actor, {
      type: 'completed',
      appointment: row,
      status: 'completed',
      data: { consultSeconds: seconds },
      ops: this.#leavesService(row, [{ op: 'remove', appointmentId: row.id, consultSeconds: seconds }]),
    });
  }

  async #skip(trx: Trx, emit: Emit, day: repo.LockedDay, actor: DayActor, row: Appointment) {
    await repo.updateAppointment(trx, row.id, { status: 'skipped', skippedAt: this.#now() });
    if (row.status === 'called') await repo.updateDay(trx, day.id, { nowServing: null });
    return this.#record(trx, emit, day, actor, {
      type: 'skipped',
      appointment: row,
      status: 'skipped',
      ops: this.#leavesService(row, [{ op: 'skip', appointmentId: row.id }]),
    });
  }

  async #noShow(trx: Trx, emit: Emit, day: repo.LockedDay, actor: DayActor, row: Appointment) {
    await repo.updateAppointment(trx, row.id, { status: 'no_show', noShowAt: this.#now() });
    if (row.status === 'called') await repo.updateDay(trx, day.id, { nowServing: null });
    return this.#record(trx, emit, day, actor, {
      type: 'no_show',
      appointment: row,
      status: 'no_show',
      appointmentStatus: 'no_show',
      ops: this.#leavesService(row, [{ op: 'remove', appointmentId: row.id }]),
    });
  }

  async #recall(
    trx: Trx,
    emit: Emit,
    day: repo.LockedDay,
    actor: DayActor,
    row: Appointment,
    reason: ReasonCode | undefined,
  ) {
    if (!reason) throw new AppError('VALIDATION_FAILED', 'A recall needs a reason', { field: 'reason' });
    const positionKey = await recallPositionKey(trx, day.id, row.id);
    await repo.updateAppointment(trx, row.id, {
      status: 'checked_in',
      positionKey,
      checkedInAt: row.checkedInAt ?? this.#now(),
    });
    return this.#record(trx, emit, day, actor, {
      type: 'recalled',
      appointment: row,
      status: 'checked_in',
      reason,
      ops: [
        { op: 'recall', appointmentId: row.id, positionKey },
        { op: 'stage', appointmentId: row.id, stage: 'checked_in' },
      ],
    });
  }

  /** Check-in by staff or by the patient; the ETA shown is kept for the reports' accuracy figures. */
  async checkIn(trx: Trx, emit: Emit, day: repo.LockedDay, actor: DayActor, row: Appointment) {
    assertEntryTransition('check-in', row.status);
    const now = this.#now();
    await repo.updateAppointment(trx, row.id, { status: 'checked_in', checkedInAt: now });
    const view = await this.deps.live.peekPosition(day.id, row.id).catch(() => null);
    const eta = view ? etaAt(view, now) : null;
    return this.#record(trx, emit, day, actor, {
      type: 'checked_in',
      appointment: row,
      status: 'checked_in',
      data: { etaAt: eta?.toISOString() ?? null, position: view?.entry?.position ?? null },
      ops: [{ op: 'stage', appointmentId: row.id, stage: 'checked_in' }],
    });
  }

  /** A walk-in takes the next serial, checked in; a priority walk-in goes before every ordinary entry. */
  async walkIn(
    trx: Trx,
    emit: Emit,
    day: repo.LockedDay,
    actor: DayActor & { id: string },
    body: WalkInBody,
  ) {
    const priority = body.priority ?? 0;
    if (priority > 0 && !body.reason)
      throw new AppError('VALIDATION_FAILED', 'A priority walk-in needs a reason', { field: 'reason' });
    const trackingToken = newOpaqueToken();
    const serial = await repo.takeSerial(trx, day.id);
    const now = this.#now();
    const created = await repo.insertWalkIn(trx, {
      queueId: day.id,
      doctorId: day.doctorId,
      date: day.date,
      profileId: body.profileId ?? null,
      bookedBy: actor.id,
      serial,
      kind: 'walk_in',
      priority,
      positionKey: serial,
      status: 'checked_in',
      estimatedAt: now,
      trackingTokenHash: hashToken(trackingToken),
      walkInName: body.name,
      walkInPhone: body.phone ?? null,
      checkedInAt: now,
    });
    const meta = await this.peekMeta(day.id);
    const etaAt = meta
      ? liveEstimate({
          now,
          slotAt: now,
          ahead: priority > 0 ? 0 : meta.waiting,
          avgConsultSeconds: meta.avgConsultSeconds,
          pausedUntil: meta.pausedUntil,
        }).toISOString()
      : null;
    await emit('appointment.booked', {
      appointmentId: created.id,
      queueId: day.id,
      actorId: actor.id,
      trackingToken,
    });
    const result = await this.#record(trx, emit, day, actor, {
      type: 'walk_in',
      appointment: created,
      status: 'checked_in',
      reason: body.reason ?? null,
      data: { priority, etaAt },
      ops: [
        {
          op: 'add',
          entry: {
            appointmentId: created.id,
            serial,
            status: 'waiting',
            stage: 'checked_in',
            priority,
            positionKey: serial,
            kind: 'walk_in',
            label: body.name,
            estimatedAt: now.toISOString(),
          },
        },
      ],
    });
    return { ...result, appointment: created, trackingToken, priority };
  }

  async pause(trx: Trx, emit: Emit, day: repo.LockedDay, actor: DayActor, body: PauseBody) {
    assertQueueTransition('pause', day.status);
    const until = body.until ? new Date(body.until) : null;
    const message = body.message ?? null;
    await repo.updateDay(trx, day.id, { status: 'paused', notice: message, pausedUntil: until });
    const untilIso = until ? until.toISOString() : null;
    return this.#record(trx, emit, day, actor, {
      type: 'paused',
      status: 'paused',
      data: { message, until: untilIso },
      notice: { message, until: untilIso, paused: true },
      ops: [{ op: 'meta', patch: { status: 'paused', notice: message, pausedUntil: untilIso } }],
    });
  }

  async resume(trx: Trx, emit: Emit, day: repo.LockedDay, actor: DayActor) {
    assertQueueTransition('resume', day.status);
    await repo.updateDay(trx, day.id, { status: 'open', notice: null, pausedUntil: null });
    return this.#record(trx, emit, day, actor, {
      type: 'resumed',
      status: 'open',
      notice: { message: null, until: null, paused: false },
      ops: [{ op: 'meta', patch: { status: 'open', notice: null, pausedUntil: null } }],
    });
  }

  async close(trx: Trx, emit: Emit, day: repo.LockedDay, actor: DayActor, body: CloseBody) {
    await repo.updateDay(trx, day.id, { status: 'closed', notice: null, pausedUntil: null });
    const removed =
      body.remaining === 'no_show' ? await repo.markRemainingNoShow(trx, day.id, this.#now()) : [];
    return this.#record(trx, emit, day, actor, {
      type: 'closed',
      status: 'closed',
      appointmentStatus: 'no_show',
      data: { remaining: body.remaining, noShows: removed.length },
      ops: [
        ...removed.map((r): QueueOp => ({ op: 'remove', appointmentId: r.id })),
        { op: 'meta', patch: { status: 'closed', notice: null, pausedUntil: null } },
      ],
    });
  }

  // ---- bookings ----

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
      avgConsultSeconds: meta?.avgConsultSeconds ?? null,
      pausedUntil: meta?.pausedUntil ?? null,
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
