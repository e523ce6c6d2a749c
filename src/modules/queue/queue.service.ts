// Live-queue rules: who may run which operation, the state machine of an appointment on its day, and the
// transaction each operation runs in (lock the queue, check, change, version bump + queue_events row,
// `queue.changed`). The after-commit projection apply and broadcast live in queue.live.ts.

import type { Transaction } from 'kysely';
import { LRUCache } from 'lru-cache';
import { DateTime } from 'luxon';
import type { Clock } from '../../clock.js';
import type { Database, DB } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import type { DomainEvents, Emit, QueueEventType } from '../../events.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import type { Appointment } from '../appointments/appointments.table.js';
import type { LiveQueue, StagedChange } from './queue.live.js';
import { recallPositionKey } from './queue.projection.js';
import {
  appointmentOwnerIds,
  findAppointment,
  findAppointmentByTrackingHash,
  findProfile,
  findQueueContext,
  firstWaiting,
  insertWalkIn,
  listQueues,
  lockAppointment,
  lockQueue,
  markRemainingNoShow,
  type QueueContext,
  recentConsultSeconds,
  recordQueueEvent,
  takeNextSerial,
  updateAppointment,
  updateQueue,
  WAITING_STATUSES,
} from './queue.repository.js';
import type {
  AppointmentWatchView,
  CloseBody,
  OperationResult,
  PauseBody,
  QueueListQuery,
  QueueSummary,
  ReasonCode,
  Snapshot,
  TrackView,
  WalkInBody,
  WalkInResult,
} from './queue.schema.js';
import {
  CONSULT_SAMPLES,
  consultRange,
  consultSeconds,
  etaAt,
  type PositionView,
  type QueueOp,
  rollingAverage,
} from './queue.store.js';
import type { SessionDay } from './queue.table.js';

/** Who asks: a signed-in account, or a tracking-token holder following one appointment. */
export interface Viewer {
  id: string;
  role: 'patient' | 'doctor' | 'staff' | 'admin';
  hospitalId: string | null;
  doctorId: string | null;
}

export type EntryAction = 'check-in' | 'call' | 'complete' | 'skip' | 'no-show' | 'recall';

export interface QueueServiceDeps {
  db: DB;
  events: DomainEvents;
  clock: Clock;
  live: LiveQueue;
}

const WAITING = new Set<string>(WAITING_STATUSES);

interface OperationPlan {
  type: QueueEventType;
  appointment?: Pick<Appointment, 'id' | 'serial'>;
  status: string;
  ops: QueueOp[];
  reason?: ReasonCode | null;
  data?: unknown;
  notice?: StagedChange['notice'];
}

interface TrackedAppointment {
  appointmentId: string;
  queueId: string;
}

const isIso = (v: Date | string) => new Date(v).toISOString();

export class QueueService {
  readonly #tracking = new LRUCache<string, TrackedAppointment>({ max: 50_000, ttl: 60_000 });
  readonly #contexts = new LRUCache<string, QueueContext>({ max: 5_000, ttl: 300_000 });

  constructor(private readonly deps: QueueServiceDeps) {}

  // ---- operations ----

  async callNext(viewer: Viewer, queueId: string, ifMatch?: number): Promise<OperationResult> {
    return this.#operate(viewer, queueId, ifMatch, { calling: true }, async (trx, queue) => {
      const head = await firstWaiting(trx, queueId);
      if (!head) throw new AppError('INVALID_TRANSITION', 'Nobody is waiting in this queue');
      return this.#call(trx, queue, head, null, false);
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
      switch (action) {
        case 'check-in':
          return this.#checkIn(trx, queue, row);
        case 'call': {
          if (!WAITING.has(row.status) && row.status !== 'skipped') throw invalid(row.status, 'call');
          const head = await firstWaiting(trx, queueId);
          const outOfOrder = head?.id !== row.id;
          if (outOfOrder && !options.reason)
            throw new AppError('VALIDATION_FAILED', 'Calling out of order needs a reason', {
              field: 'reason',
            });
          return this.#call(trx, queue, row, outOfOrder ? (options.reason ?? null) : null, outOfOrder);
        }
        case 'complete':
          return this.#complete(trx, queue, row);
        case 'skip': {
          if (row.status !== 'called') throw invalid(row.status, 'skip');
          const at = this.deps.clock.now();
          await updateAppointment(trx, row.id, { status: 'skipped', skippedAt: at });
          return {
            type: 'skipped',
            appointment: row,
            status: 'skipped',
            ops: [{ op: 'skip', appointmentId: row.id }],
          };
        }
        case 'no-show': {
          if (row.status !== 'called' && row.status !== 'skipped' && !WAITING.has(row.status))
            throw invalid(row.status, 'mark as no-show');
          await updateAppointment(trx, row.id, { status: 'no_show', noShowAt: this.deps.clock.now() });
          return {
            type: 'no_show',
            appointment: row,
            status: 'no_show',
            ops: [{ op: 'remove', appointmentId: row.id }],
          };
        }
        case 'recall': {
          if (row.status !== 'skipped') throw invalid(row.status, 'recall');
          if (!options.reason)
            throw new AppError('VALIDATION_FAILED', 'A recall needs a reason', { field: 'reason' });
          const positionKey = await recallPositionKey(trx, queueId, row.id);
          await updateAppointment(trx, row.id, {
            status: 'checked_in',
            positionKey,
            checkedInAt: row.checkedInAt ?? this.deps.clock.now(),
          });
          return {
            type: 'recalled',
            appointment: row,
            status: 'checked_in',
            reason: options.reason,
            ops: [
              { op: 'recall', appointmentId: row.id, positionKey },
              { op: 'stage', appointmentId: row.id, stage: 'checked_in' },
            ],
          };
        }
      }
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
      if (queue.status !== 'open') throw invalid(queue.status, 'pause');
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
      if (queue.status !== 'paused') throw invalid(queue.status, 'resume');
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
      target = await this.#byTrackingToken(who.trackingToken);
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
      return this.#checkIn(trx, queue, row);
    });
  }

  // ---- reads ----

  async list(query: QueueListQuery): Promise<{ items: QueueSummary[]; nextCursor: string | null }> {
    const limit = query.limit ?? 20;
    const cursor = decodeCursor<[string]>(query.cursor, 1);
    if (query.cursor && !cursor) throw new AppError('VALIDATION_FAILED', 'cursor is not valid');
    const rows = await listQueues(this.deps.db, {
      date: query.date,
      hospitalId: query.hospitalId,
      doctorId: query.doctorId,
      afterId: cursor?.[0],
      limit,
    });
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        id: r.id,
        queueId: r.id,
        date: r.date,
        hospitalId: r.hospitalId,
        hospitalName: r.hospitalName,
        doctorId: r.doctorId,
        doctorName: r.doctorName,
        sessionId: r.sessionId,
        room: r.room,
        startsAt: isIso(r.startsAt),
        endsAt: isIso(r.endsAt),
        status: r.status,
        version: r.version,
        nowServing: r.nowServing,
        bookedCount: r.bookedCount,
        capacity: r.capacity,
      })),
      nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1].id]) : null,
    };
  }

  /** The queue as everyone may see it; staff of its hospital, its doctor and admins also get names and ids. */
  async snapshot(viewer: Viewer | null, queueId: string): Promise<Snapshot> {
    const mayLabel = viewer !== null && viewer.role !== 'patient';
    const snap = await this.deps.live.snapshot(queueId, mayLabel);
    if (!snap) throw notFound('Queue');
    const privileged = viewer !== null && canManage(viewer, snap.meta);
    const { meta } = snap;
    return {
      queueId,
      version: meta.version,
      status: meta.status,
      date: meta.date,
      nowServing: meta.nowServing,
      avgConsultSeconds: meta.avgConsultSeconds,
      waiting: meta.waiting,
      paused: meta.status === 'paused',
      notice: meta.notice,
      pausedUntil: meta.pausedUntil,
      entries: snap.entries.map((e) => {
        const status = e.status === 'waiting' ? e.stage : e.status;
        if (!privileged) return { serial: e.serial, status, position: e.position };
        return {
          serial: e.serial,
          status,
          position: e.position,
          appointmentId: e.appointmentId,
          name: e.label ?? '',
          kind: e.kind,
          priority: e.priority,
        };
      }),
    };
  }

  /** GET /track/:token — the one appointment a tracking link follows, and nothing else about its patient. */
  async track(trackingToken: string): Promise<TrackView> {
    const target = await this.#byTrackingToken(trackingToken);
    return this.#trackView(target.queueId, target.appointmentId);
  }

  /** `appointment:watch`: the owner, its doctor, staff of its hospital, admins, or its tracking-token holder. */
  async watchAppointment(
    viewer: Viewer | null,
    trackedAppointmentId: string | null,
    appointmentId: string,
  ): Promise<AppointmentWatchView> {
    const row = await findAppointment(this.deps.db, appointmentId);
    if (!row) throw notFound('Appointment');
    const context = await this.#context(row.queueId);
    const allowed =
      trackedAppointmentId === row.id ||
      (viewer !== null &&
        (canManage(viewer, context) ||
          (await appointmentOwnerIds(this.deps.db, row.id)).includes(viewer.id)));
    if (!allowed) throw forbidden('You may not follow this appointment');
    const view = await this.#trackView(row.queueId, row.id);
    return {
      appointmentId: row.id,
      queueId: row.queueId,
      serial: view.serial,
      status: view.status,
      position: view.position,
      nowServing: view.nowServing,
      etaAt: view.etaAt,
      version: view.version,
    };
  }

  /** Staff of a hospital (and admins) may follow its notices. */
  mayWatchHospital(viewer: Viewer | null, hospitalId: string): boolean {
    return (
      viewer !== null &&
      (viewer.role === 'admin' || (viewer.role === 'staff' && viewer.hospitalId === hospitalId))
    );
  }

  /** The appointment a tracking token belongs to (socket handshakes). */
  async trackedAppointment(trackingToken: string): Promise<string> {
    return (await this.#byTrackingToken(trackingToken)).appointmentId;
  }

  async #trackView(queueId: string, appointmentId: string): Promise<TrackView> {
    const context = await this.#context(queueId);
    const view = await this.deps.live.position(queueId, appointmentId);
    if (!view) throw notFound('Queue');
    const now = this.deps.clock.now();
    let serial: number;
    let status: string;
    if (view.entry) {
      serial = view.entry.serial;
      status = view.entry.status === 'waiting' ? view.entry.stage : view.entry.status;
    } else {
      const row = await findAppointment(this.deps.db, appointmentId);
      if (!row) throw notFound('Appointment');
      serial = row.serial;
      status = row.status;
    }
    const eta = etaAt(view, now);
    return {
      appointmentId,
      queueId,
      version: view.meta.version,
      date: view.meta.date,
      serial,
      status: status as TrackView['status'],
      position: view.entry?.position ?? null,
      nowServing: view.meta.nowServing,
      etaAt: eta?.toISOString() ?? null,
      etaRange: etaRangeOf(view, now),
      queueStatus: view.meta.status,
      notice: view.meta.notice,
      doctorName: context.doctorName,
      hospitalName: context.hospitalName,
      room: context.room,
    };
  }

  async #byTrackingToken(token: string): Promise<TrackedAppointment> {
    const hash = hashToken(token);
    const cached = this.#tracking.get(hash);
    if (cached) return cached;
    const row = await findAppointmentByTrackingHash(this.deps.db, hash);
    if (!row) throw notFound('Tracking link');
    const found = { appointmentId: row.id, queueId: row.queueId };
    this.#tracking.set(hash, found);
    return found;
  }

  async #context(queueId: string): Promise<QueueContext> {
    const cached = this.#contexts.get(queueId);
    if (cached) return cached;
    const context = await findQueueContext(this.deps.db, queueId);
    if (!context) throw notFound('Queue');
    this.#contexts.set(queueId, context);
    return context;
  }

  // ---- the transaction every operation runs in ----

  #operate(
    viewer: Viewer,
    queueId: string,
    ifMatch: number | undefined,
    options: { calling?: boolean },
    plan: (
      trx: Transaction<Database>,
      queue: SessionDay,
      emit: Emit,
    ) => Promise<OperationPlan & { closedNoShow?: boolean }>,
  ): Promise<OperationResult> {
    return this.#authorized(viewer, queueId).then(() =>
      this.#transaction(queueId, viewer.id, ifMatch, options, plan),
    );
  }

  async #authorized(viewer: Viewer, queueId: string): Promise<void> {
    const context = await this.#context(queueId);
    if (!canManage(viewer, context))
      throw forbidden('Only staff of this hospital and its doctor run this queue');
  }

  async #transaction(
    queueId: string,
    actorId: string | null,
    ifMatch: number | undefined,
    options: { calling?: boolean },
    plan: (
      trx: Transaction<Database>,
      queue: SessionDay,
      emit: Emit,
    ) => Promise<OperationPlan & { closedNoShow?: boolean }>,
  ): Promise<OperationResult> {
    const context = await this.#context(queueId);
    // Make sure a projection exists before the transaction (a rebuild cannot run inside it on PGlite), so
    // in-transaction reads of positions see the queue and the commit applies without a rebuild.
    await this.deps.live.meta(queueId);
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

  // ---- single-entry steps ----

  async #call(
    trx: Transaction<Database>,
    queue: SessionDay,
    row: Appointment,
    reason: ReasonCode | null,
    outOfOrder: boolean,
  ): Promise<OperationPlan> {
    const now = this.deps.clock.now();
    await updateAppointment(trx, row.id, { status: 'called', calledAt: now });
    await updateQueue(trx, queue.id, { nowServing: row.serial });
    return {
      type: 'called',
      appointment: row,
      status: 'called',
      reason,
      // ETA accuracy: the prediction shown at check-in (or walk-in) is in that event's data.etaAt; this
      // event's `at` is the real call time. The scheduled estimate is the other baseline.
      data: {
        outOfOrder,
        scheduledAt: new Date(row.estimatedAt).toISOString(),
        waitedSeconds: row.checkedInAt
          ? Math.round((now.getTime() - new Date(row.checkedInAt).getTime()) / 1000)
          : null,
      },
      ops: [{ op: 'call', appointmentId: row.id }],
    };
  }

  async #complete(trx: Transaction<Database>, queue: SessionDay, row: Appointment): Promise<OperationPlan> {
    if (row.status !== 'called') throw invalid(row.status, 'complete');
    const now = this.deps.clock.now();
    const seconds = consultSeconds(row.calledAt ?? now, now);
    await updateAppointment(trx, row.id, { status: 'completed', completedAt: now });
    const samples = (await recentConsultSeconds(trx, queue.id, CONSULT_SAMPLES)).reverse();
    await updateQueue(trx, queue.id, { avgConsultSeconds: rollingAverage(samples, queue.slotMinutes) });
    return {
      type: 'completed',
      appointment: row,
      status: 'completed',
      data: { consultSeconds: seconds },
      ops: [{ op: 'remove', appointmentId: row.id, consultSeconds: seconds }],
    };
  }

  async #checkIn(trx: Transaction<Database>, queue: SessionDay, row: Appointment): Promise<OperationPlan> {
    if (row.status !== 'booked' && row.status !== 'confirmed') throw invalid(row.status, 'check in');
    const now = this.deps.clock.now();
    await updateAppointment(trx, row.id, { status: 'checked_in', checkedInAt: now });
    // The ETA shown at check-in, kept so reports can compare it with the real call time.
    const view = await this.deps.live.peekPosition(queue.id, row.id).catch(() => null);
    const eta = view ? etaAt(view, now) : null;
    return {
      type: 'checked_in',
      appointment: row,
      status: 'checked_in',
      data: { etaAt: eta?.toISOString() ?? null, position: view?.entry?.position ?? null },
      ops: [{ op: 'stage', appointmentId: row.id, stage: 'checked_in' }],
    };
  }
}

/** Admins, staff of the queue's hospital and the queue's doctor run a queue and see its names. */
export function canManage(viewer: Viewer, queue: { hospitalId: string; doctorId: string }): boolean {
  if (viewer.role === 'admin') return true;
  if (viewer.role === 'staff') return viewer.hospitalId === queue.hospitalId;
  if (viewer.role === 'doctor') return viewer.doctorId === queue.doctorId;
  return false;
}

function invalid(from: string, action: string): AppError {
  return new AppError('INVALID_TRANSITION', `Cannot ${action} an entry that is ${from}`, { from });
}

function etaRangeOf(view: PositionView, now: Date): TrackView['etaRange'] {
  const position = view.entry?.position;
  if (position === null || position === undefined) return null;
  const range = consultRange(view.meta.consultSamples);
  if (!range) return null;
  const floor = view.entry?.estimatedAt ? Date.parse(view.entry.estimatedAt) : 0;
  const start = Math.max(now.getTime(), view.meta.pausedUntil ? Date.parse(view.meta.pausedUntil) : 0);
  const from = Math.max(floor, start + position * range.low * 1000);
  const to = Math.max(floor, start + position * range.high * 1000);
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}
