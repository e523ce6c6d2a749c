// Live-queue operations: who may run which one, and the transaction each runs in (lock the queue, check it
// is open and at the expected version, apply one step of queue.transitions.ts, version bump + queue_events
// row, `queue.changed`). Reads live in queue.reads.ts; the after-commit apply and broadcast in queue.live.ts.

import type { Transaction } from 'kysely';
import { DateTime } from 'luxon';
import type { Clock } from '../../clock.js';
import type { Database, DB } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { DomainEvents, Emit } from '../../events.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Appointment } from '../appointments/appointments.table.js';
import { canManage, mayWatchHospital, type Viewer } from './queue.access.js';
import type { LiveQueue } from './queue.live.js';
import { QueueReads } from './queue.reads.js';
import {
  appointmentOwnerIds,
  findAppointment,
  findProfile,
  firstWaiting,
  insertWalkIn,
  lockAppointment,
  lockQueue,
  markRemainingNoShow,
  recordQueueEvent,
  takeNextSerial,
  updateQueue,
} from './queue.repository.js';
import type {
  AppointmentWatchView,
  CloseBody,
  OperationResult,
  PauseBody,
  QueueListQuery,
  ReasonCode,
  Snapshot,
  TrackView,
  WalkInBody,
  WalkInResult,
} from './queue.schema.js';
import type { QueueOp } from './queue.store.js';
import type { SessionDay } from './queue.table.js';
import {
  assertQueueTransition,
  callStep,
  checkInStep,
  type EntryAction,
  entryStep,
  type OperationPlan,
  type StepDeps,
} from './queue.transitions.js';

export interface QueueServiceDeps {
  db: DB;
  events: DomainEvents;
  clock: Clock;
  live: LiveQueue;
}

type PlanStep = (trx: Transaction<Database>, queue: SessionDay, emit: Emit) => Promise<OperationPlan>;

export class QueueService {
  readonly reads: QueueReads;
  readonly #steps: StepDeps;

  constructor(private readonly deps: QueueServiceDeps) {
    this.reads = new QueueReads({ db: deps.db, clock: deps.clock, live: deps.live });
    this.#steps = { clock: deps.clock, live: deps.live };
  }

  // ---- operations ----

  async callNext(viewer: Viewer, queueId: string, ifMatch?: number): Promise<OperationResult> {
    return this.#operate(viewer, queueId, ifMatch, { calling: true }, async (trx, queue) => {
      const head = await firstWaiting(trx, queueId);
      if (!head) throw new AppError('INVALID_TRANSITION', 'Nobody is waiting in this queue');
      return callStep(this.#steps, trx, queue, head, null, false);
    });
  }

  async entryAction(
    viewer: Viewer,
    queueId: string,
    appointmentId: string,
    action: EntryAction,
    options: { ifMatch?: number; reason?: ReasonCode },
  ): Promise<OperationResult> {
    const calling = action === 'call';
    return this.#operate(viewer, queueId, options.ifMatch, { calling }, async (trx, queue) => {
      const row = await lockAppointment(trx, queueId, appointmentId);
      if (!row) throw notFound('Appointment in this queue');
      return entryStep(this.#steps, trx, queue, row, action, options.reason);
    });
  }

  async walkIn(viewer: Viewer, queueId: string, body: WalkInBody, ifMatch?: number): Promise<WalkInResult> {
    const priority = body.priority ?? 0;
    if (priority > 0 && !body.reason)
      throw new AppError('VALIDATION_FAILED', 'A priority walk-in needs a reason', { field: 'reason' });
    const trackingToken = newOpaqueToken();
    let created: Appointment | undefined;
    const result = await this.#operate(viewer, queueId, ifMatch, {}, async (trx, queue, emit) => {
      if (body.profileId && !(await findProfile(trx, body.profileId))) throw notFound('Patient profile');
      const serial = await takeNextSerial(trx, queueId);
      const now = this.deps.clock.now();
      created = await insertWalkIn(trx, {
        queueId,
        doctorId: queue.doctorId,
        date: queue.date,
        profileId: body.profileId ?? null,
        bookedBy: viewer.id,
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
      await emit('appointment.booked', {
        appointmentId: created.id,
        queueId,
        actorId: viewer.id,
        trackingToken,
      });
      return {
        type: 'walk_in',
        appointment: created,
        status: 'checked_in',
        reason: body.reason ?? null,
        data: { priority, etaAt: await this.#walkInEta(queueId, priority, now) },
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
      };
    });
    const row = created!;
    return {
      id: row.id,
      queueId,
      version: result.version,
      serial: row.serial,
      status: 'checked_in',
      priority,
      trackingToken,
    };
  }

  async pause(viewer: Viewer, queueId: string, body: PauseBody, ifMatch?: number): Promise<OperationResult> {
    return this.#operate(viewer, queueId, ifMatch, {}, async (trx, queue) => {
      assertQueueTransition('pause', queue.status);
      const until = body.until ? new Date(body.until) : null;
      const message = body.message ?? null;
      await updateQueue(trx, queueId, { status: 'paused', notice: message, pausedUntil: until });
      const untilIso = until ? until.toISOString() : null;
      return {
        type: 'paused',
        status: 'paused',
        data: { message, until: untilIso },
        notice: { message, until: untilIso, paused: true },
        ops: [{ op: 'meta', patch: { status: 'paused', notice: message, pausedUntil: untilIso } }],
      };
    });
  }

  async resume(viewer: Viewer, queueId: string, ifMatch?: number): Promise<OperationResult> {
    return this.#operate(viewer, queueId, ifMatch, {}, async (trx, queue) => {
      assertQueueTransition('resume', queue.status);
      await updateQueue(trx, queueId, { status: 'open', notice: null, pausedUntil: null });
      return {
        type: 'resumed',
        status: 'open',
        notice: { message: null, until: null, paused: false },
        ops: [{ op: 'meta', patch: { status: 'open', notice: null, pausedUntil: null } }],
      };
    });
  }

  async close(viewer: Viewer, queueId: string, body: CloseBody, ifMatch?: number): Promise<OperationResult> {
    return this.#operate(viewer, queueId, ifMatch, {}, async (trx) => {
      await updateQueue(trx, queueId, { status: 'closed', notice: null, pausedUntil: null });
      const removed =
        body.remaining === 'no_show' ? await markRemainingNoShow(trx, queueId, this.deps.clock.now()) : [];
      return {
        type: 'closed',
        status: 'closed',
        data: { remaining: body.remaining, noShows: removed.length },
        ops: [
          ...removed.map((r): QueueOp => ({ op: 'remove', appointmentId: r.id })),
          { op: 'meta', patch: { status: 'closed', notice: null, pausedUntil: null } },
        ],
        closedNoShow: true,
      };
    });
  }

  /** Patient self check-in: the owner of the appointment (signed in) or its tracking-token holder. */
  async selfCheckIn(
    who: { viewer: Viewer } | { trackingToken: string },
    appointmentId: string | null,
  ): Promise<OperationResult> {
    let target: { appointmentId: string; queueId: string } | undefined;
    if ('trackingToken' in who) {
      target = await this.reads.byTrackingToken(who.trackingToken);
    } else {
      const row = appointmentId ? await findAppointment(this.deps.db, appointmentId) : undefined;
      if (!row) throw notFound('Appointment');
      const owners = await appointmentOwnerIds(this.deps.db, row.id);
      if (!owners.includes(who.viewer.id))
        throw forbidden('Only the patient may check in to this appointment');
      target = { appointmentId: row.id, queueId: row.queueId };
    }
    const { queueId } = target;
    const actorId = 'viewer' in who ? who.viewer.id : null;
    return this.#transaction(queueId, actorId, undefined, {}, async (trx, queue) => {
      const row = await lockAppointment(trx, queueId, target.appointmentId);
      if (!row) throw notFound('Appointment');
      return checkInStep(this.#steps, trx, queue, row);
    });
  }

  // ---- reads (queue.reads.ts) ----

  list(query: QueueListQuery) {
    return this.reads.list(query);
  }

  snapshot(viewer: Viewer | null, queueId: string): Promise<Snapshot> {
    return this.reads.snapshot(viewer, queueId);
  }

  track(trackingToken: string): Promise<TrackView> {
    return this.reads.track(trackingToken);
  }

  watchAppointment(
    viewer: Viewer | null,
    trackedAppointmentId: string | null,
    appointmentId: string,
  ): Promise<AppointmentWatchView> {
    return this.reads.watchAppointment(viewer, trackedAppointmentId, appointmentId);
  }

  mayWatchHospital(viewer: Viewer | null, hospitalId: string): boolean {
    return mayWatchHospital(viewer, hospitalId);
  }

  /** The appointment a tracking token belongs to (socket handshakes). */
  async trackedAppointment(trackingToken: string): Promise<string> {
    return (await this.reads.byTrackingToken(trackingToken)).appointmentId;
  }

  // ---- the transaction every operation runs in ----

  #operate(
    viewer: Viewer,
    queueId: string,
    ifMatch: number | undefined,
    options: { calling?: boolean },
    plan: PlanStep,
  ): Promise<OperationResult> {
    return this.#authorized(viewer, queueId).then(() =>
      this.#transaction(queueId, viewer.id, ifMatch, options, plan),
    );
  }

  async #authorized(viewer: Viewer, queueId: string): Promise<void> {
    const context = await this.reads.context(queueId);
    if (!canManage(viewer, context))
      throw forbidden('Only staff of this hospital and its doctor run this queue');
  }

  async #transaction(
    queueId: string,
    actorId: string | null,
    ifMatch: number | undefined,
    options: { calling?: boolean },
    plan: PlanStep,
  ): Promise<OperationResult> {
    const context = await this.reads.context(queueId);
    // Make sure a projection exists before the transaction (a rebuild cannot run inside it on PGlite), so
    // in-transaction reads of positions see the queue and the commit applies without a rebuild. The
    // projection is a cache: with Redis unreachable the operation still commits in Postgres.
    await this.deps.live.warm(queueId);
    let staged: number | undefined;
    try {
      return await this.deps.events.transaction(this.deps.db, async (trx, emit) => {
        const queue = await lockQueue(trx, queueId);
        if (!queue) throw notFound('Queue');
        this.#checkOpen(queue, context.timezone, options.calling === true);
        if (ifMatch !== undefined && ifMatch !== queue.version)
          throw new AppError('VERSION_CONFLICT', 'The queue changed since you last saw it', {
            currentVersion: queue.version,
          });
        const step = await plan(trx, queue, emit);
        const version = await recordQueueEvent(trx, {
          queueId,
          type: step.type,
          appointmentId: step.appointment?.id ?? null,
          serial: step.appointment?.serial ?? null,
          actorId,
          reason: step.reason ?? null,
          data: step.data,
        });
        this.deps.live.stage(queueId, version, {
          ops: step.ops,
          hospitalId: queue.hospitalId,
          appointmentStatus: step.closedNoShow ? 'no_show' : step.status,
          notice: step.notice,
        });
        staged = version;
        await emit('queue.changed', {
          queueId,
          version,
          type: step.type,
          ...(step.appointment
            ? { appointmentId: step.appointment.id, serial: step.appointment.serial }
            : {}),
        });
        return {
          queueId,
          version,
          type: step.type,
          appointmentId: step.appointment?.id ?? null,
          serial: step.appointment?.serial ?? null,
          status: step.status,
        };
      });
    } catch (err) {
      if (staged !== undefined) this.deps.live.unstage(queueId, staged);
      throw err;
    }
  }

  /** The ETA a walk-in is given: behind everyone waiting (or at the front for a priority), never before now. */
  async #walkInEta(queueId: string, priority: number, now: Date): Promise<string | null> {
    const meta = await this.deps.live.peekMeta(queueId).catch(() => null);
    if (!meta) return null;
    const ahead = priority > 0 ? 0 : meta.waiting;
    const start = Math.max(now.getTime(), meta.pausedUntil ? Date.parse(meta.pausedUntil) : 0);
    return new Date(start + ahead * meta.avgConsultSeconds * 1000).toISOString();
  }

  #checkOpen(queue: SessionDay, timezone: string, calling: boolean): void {
    if (queue.status === 'closed' || queue.status === 'cancelled')
      throw new AppError('QUEUE_NOT_OPEN', `This queue is ${queue.status}`);
    const today = DateTime.fromJSDate(this.deps.clock.now(), { zone: timezone }).toISODate();
    if (today !== null && today < queue.date)
      throw new AppError('QUEUE_NOT_OPEN', `This queue opens on ${queue.date}`, { date: queue.date });
    if (today !== null && today > queue.date)
      throw new AppError('QUEUE_NOT_OPEN', `This queue was for ${queue.date}`, { date: queue.date });
    if (calling && queue.status === 'paused')
      throw new AppError('QUEUE_NOT_OPEN', 'This queue is paused; resume it before calling', {
        status: 'paused',
      });
  }
}
