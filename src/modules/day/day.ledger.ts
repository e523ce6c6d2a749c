// The day ledger's queue operations (staff and doctors): one method per change, each inside the caller's
// transaction on a day locked by `open`; the rules are day.rules.ts, the commit point day.record.ts.
import type { Transaction } from 'kysely';
import type { Database } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import type { Emit } from '../../events.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Appointment } from '../appointments/appointments.table.js';
import { recallPositionKey } from '../queue/queue.projection.js';
import type { CloseBody, OperationResult, PauseBody, ReasonCode, WalkInBody } from '../queue/queue.schema.js';
import {
  CONSULT_SAMPLES,
  consultSeconds,
  etaAt,
  etaRange,
  type QueueMeta,
  type QueueOp,
  rollingAverage,
} from '../queue/queue.store.js';
import { type Change, type DayActor, type LedgerDeps, recordChange } from './day.record.js';
import * as repo from './day.repository.js';
import {
  assertEntryTransition,
  assertQueueTransition,
  dayClosedReason,
  type EntryAction,
  liveEstimate,
  type PreviousOutcome,
  passOverBefore,
} from './day.rules.js';

type Trx = Transaction<Database>;

export type { LockedDay } from './day.repository.js';

export class DayLedger {
  constructor(private readonly deps: LedgerDeps) {}

  #now(): Date {
    return this.deps.clock.now();
  }

  /** The day's projection meta without a rebuild; null when the store has none or cannot be reached. */
  peekMeta(queueId: string): Promise<QueueMeta | null> {
    return this.deps.live.peekMeta(queueId).catch(() => null);
  }

  #record(trx: Trx, emit: Emit, day: { id: string; hospitalId: string }, actor: DayActor, c: Change) {
    return recordChange(trx, emit, day, actor, c);
  }

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
    if (!front) {
      // The last patient of the day: call-next still ends their visit; with nobody being seen it is refused.
      const ended = await this.#finishCurrent(trx, emit, day, actor, previous);
      if (ended) return ended;
      throw new AppError('INVALID_TRANSITION', 'Nobody is waiting in this queue');
    }
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
    if (!current) return undefined;
    if (outcome === 'skip') return this.#skip(trx, emit, day, actor, current);
    if (outcome === 'no-show') return this.#noShow(trx, emit, day, actor, current);
    return this.#complete(trx, emit, day, actor, current);
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
      data: {
        etaAt: eta?.toISOString() ?? null,
        etaRange: view ? etaRange(view, now) : null,
        position: view?.entry?.position ?? null,
      },
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
          meta,
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
      ops: [
        {
          op: 'meta',
          patch: {
            status: 'paused',
            notice: message,
            pausedUntil: untilIso,
            pausedAt: this.#now().toISOString(),
          },
        },
      ],
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
}
