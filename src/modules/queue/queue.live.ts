// After-commit side of every session-day change (the day ledger's `queue.changed`): apply its ops to the live
// projection (rebuilding from Postgres when the projection is missing or behind), then send exactly one
// `queue:update` to the queue's room, plus `appointment:update`s to the entry that changed and to those who
// became next or crossed the turn-near threshold (their messages were written in the change's transaction).
// Also the store-backed reads (snapshot, one appointment's place) with rebuild on a miss.
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import type { EventMap, QueueEventType } from '../../events.js';
import { TURN_NEAR_POSITION } from '../day/day.rules.js';
import type { QueueEmitter } from './queue.emitter.js';
import { loadProjection } from './queue.projection.js';
import { findAppointment } from './queue.repository.js';
import type { AppointmentUpdate, QueueUpdate } from './queue.schema.js';
import {
  type ApplyResult,
  applyOrRebuild,
  type EntryEffect,
  etaAt,
  headChanges,
  type PositionView,
  type QueueMeta,
  type QueueOp,
  type QueueSnapshot,
  type QueueStore,
  rollingAverage,
  seenOutOfOrder,
} from './queue.store.js';
import type { QueueVersions } from './queue.versions.js';

/** What the change carries for the projection and the broadcasts. */
type StagedChange = NonNullable<EventMap['queue.changed']['live']>;

const STATUS_OF_TYPE: Partial<Record<QueueEventType, string>> = {
  cancelled: 'cancelled',
  completed: 'completed',
  no_show: 'no_show',
  called: 'called',
  skipped: 'skipped',
};

export interface LiveQueueDeps {
  db: DB;
  store: QueueStore;
  emitter: QueueEmitter;
  clock: Clock;
  log: FastifyBaseLogger;
  /** Told each version applied to the projection, so every instance's public reads know it. */
  versions: QueueVersions;
  turnNearThreshold?: number;
}

export class LiveQueue {
  readonly #threshold: number;
  readonly versions: QueueVersions;

  constructor(private readonly deps: LiveQueueDeps) {
    this.#threshold = deps.turnNearThreshold ?? TURN_NEAR_POSITION;
    this.versions = deps.versions;
  }

  /**
   * The `queue.changed` commit handler: apply, then broadcast once. With the store unreachable (Redis down)
   * the change is already safe in Postgres: watchers get a `rebuilt` built from Postgres, and the next
   * change after Redis returns finds a version gap and rebuilds.
   */
  async publish(event: EventMap['queue.changed']): Promise<void> {
    const staged = event.live ?? {
      ops: rebuildOps(),
      hospitalId: (await this.#hospitalOf(event.queueId)) ?? '',
    };
    const { store } = this.deps;
    let outcome: Awaited<ReturnType<typeof applyOrRebuild>>;
    try {
      outcome = await applyOrRebuild(store, event.queueId, { version: event.version, ops: staged.ops }, () =>
        loadProjection(this.deps.db, event.queueId),
      );
    } catch (err) {
      this.deps.log.warn(
        { err, queueId: event.queueId, version: event.version },
        'queue projection not updated',
      );
      await this.#broadcastFromPostgres(event, staged);
      return;
    }
    this.versions.announce(event.queueId, event.version);
    const { result, rebuilt } = outcome;
    const at = this.deps.clock.now().toISOString();
    if (result.status === 'applied' && !rebuilt) {
      await this.#broadcastApplied(event, staged, result, at);
    } else {
      const meta = await store.meta(event.queueId);
      if (!meta) return;
      this.deps.emitter.queueUpdate(updateOf(meta, 'rebuilt', at));
      if (event.appointmentId) await this.#tellAppointment(meta, event.appointmentId, 'status', staged);
    }
    if (staged.notice) {
      this.deps.emitter.doctorNotice(staged.hospitalId, { queueId: event.queueId, ...staged.notice });
    }
  }

  /** Without a projection: a `rebuilt` from the source of truth, so watchers know to resync. */
  async #broadcastFromPostgres(event: EventMap['queue.changed'], staged: StagedChange): Promise<void> {
    const projection = await loadProjection(this.deps.db, event.queueId);
    if (!projection) return;
    const { meta } = projection;
    const waiting = projection.entries.filter((e) => e.status === 'waiting').length;
    const avgConsultSeconds = rollingAverage(meta.consultSamples, meta.slotMinutes);
    const at = this.deps.clock.now().toISOString();
    this.deps.emitter.queueUpdate(updateOf({ ...meta, waiting, avgConsultSeconds }, 'rebuilt', at));
    if (staged.notice) {
      this.deps.emitter.doctorNotice(staged.hospitalId, { queueId: event.queueId, ...staged.notice });
    }
  }

  async #broadcastApplied(
    event: EventMap['queue.changed'],
    staged: StagedChange,
    result: Extract<ApplyResult, { status: 'applied' }>,
    at: string,
  ): Promise<void> {
    const { meta } = result;
    const touched = event.appointmentId
      ? result.entries.find((e) => e.appointmentId === event.appointmentId)
      : undefined;
    const update = updateOf(meta, event.type, at);
    if (event.appointmentId) {
      update.appointmentId = event.appointmentId;
      update.serial = touched?.serial ?? event.serial ?? null;
      update.status = touched
        ? statusOf(touched, staged)
        : (staged.appointmentStatus ?? STATUS_OF_TYPE[event.type] ?? event.type);
      if (touched?.status === 'waiting') update.after = touched.after ?? null;
    }
    this.deps.emitter.queueUpdate(update);

    const fullMeta = { ...meta, consultSamples: [] };
    for (const effect of result.entries) {
      this.deps.emitter.appointmentUpdate(
        await this.#appointmentUpdate(fullMeta, effect, statusOf(effect, staged), 'status'),
      );
    }
    const touchedIds = new Set(result.entries.map((e) => e.appointmentId));
    const { becameNext, turnNear } = headChanges(result.headBefore, result.head, this.#threshold);
    const notified = new Set<string>();
    for (const [list, reason] of [
      [becameNext, 'next'],
      [turnNear, 'turn_near'],
    ] as const) {
      for (const head of list) {
        if (touchedIds.has(head.appointmentId) || notified.has(head.appointmentId)) continue;
        notified.add(head.appointmentId);
        await this.#tellAppointment(fullMeta, head.appointmentId, reason, staged);
      }
    }
  }

  async #appointmentUpdate(
    meta: QueueMeta,
    effect: EntryEffect,
    status: string,
    reason: AppointmentUpdate['reason'],
  ): Promise<AppointmentUpdate> {
    let eta: string | null = null;
    let seen: number | null = null;
    if (effect.position !== null) {
      const view = await this.deps.store.position(meta.queueId, effect.appointmentId);
      eta = view ? (etaAt(view, this.deps.clock.now())?.toISOString() ?? null) : null;
      seen = view ? seenOutOfOrder(view) : null;
    }
    return {
      appointmentId: effect.appointmentId,
      queueId: meta.queueId,
      status,
      serial: effect.serial,
      position: effect.position,
      etaAt: eta,
      seenOutOfOrder: seen,
      version: meta.version,
      reason,
    };
  }

  async #tellAppointment(
    meta: QueueMeta,
    appointmentId: string,
    reason: AppointmentUpdate['reason'],
    staged: StagedChange,
  ): Promise<void> {
    const view = await this.deps.store.position(meta.queueId, appointmentId);
    if (view?.entry) {
      const entry = view.entry;
      this.deps.emitter.appointmentUpdate({
        appointmentId,
        queueId: meta.queueId,
        status: entry.status === 'waiting' ? entry.stage : entry.status,
        serial: entry.serial,
        position: entry.position,
        etaAt: etaAt(view, this.deps.clock.now())?.toISOString() ?? null,
        seenOutOfOrder: seenOutOfOrder(view),
        version: view.meta.version,
        reason,
      });
      return;
    }
    const row = await findAppointment(this.deps.db, appointmentId);
    if (!row) return;
    this.deps.emitter.appointmentUpdate({
      appointmentId,
      queueId: meta.queueId,
      status: staged.appointmentStatus ?? row.status,
      serial: row.serial,
      position: null,
      etaAt: null,
      seenOutOfOrder: null,
      version: meta.version,
      reason,
    });
  }

  async #hospitalOf(queueId: string): Promise<string | null> {
    const meta = await this.deps.store.meta(queueId).catch(() => null);
    return meta?.hospitalId ?? null;
  }

  /** The whole queue from the projection, rebuilt from Postgres when missing; null when no such queue. */
  async snapshot(queueId: string, labels: boolean): Promise<QueueSnapshot | null> {
    const found = await this.deps.store.snapshot(queueId, { labels });
    if (found) return found;
    if ((await this.#rebuild(queueId)) === 'not_found') return null;
    return this.deps.store.snapshot(queueId, { labels });
  }

  /**
   * Builds a missing projection before an operation's transaction. The projection is a cache: a store
   * that cannot be reached (Redis down) must not stop the operation from committing in Postgres.
   */
  async warm(queueId: string): Promise<void> {
    try {
      await this.meta(queueId);
    } catch (err) {
      this.deps.log.warn({ err, queueId }, 'queue projection unavailable; operating on Postgres alone');
    }
  }

  async meta(queueId: string): Promise<QueueMeta | null> {
    const found = await this.deps.store.meta(queueId);
    if (found) return found;
    if ((await this.#rebuild(queueId)) === 'not_found') return null;
    return this.deps.store.meta(queueId);
  }

  /** One appointment's place, rebuilt from Postgres when the projection is missing. */
  async position(queueId: string, appointmentId: string): Promise<PositionView | null> {
    const found = await this.deps.store.position(queueId, appointmentId);
    if (found) return found;
    if ((await this.#rebuild(queueId)) === 'not_found') return null;
    return this.deps.store.position(queueId, appointmentId);
  }

  /** Store reads without a rebuild: safe inside a transaction (PGlite has a single connection). */
  peekPosition(queueId: string, appointmentId: string): Promise<PositionView | null> {
    return this.deps.store.position(queueId, appointmentId);
  }

  peekMeta(queueId: string): Promise<QueueMeta | null> {
    return this.deps.store.meta(queueId);
  }

  async #rebuild(queueId: string): Promise<'rebuilt' | 'not_found'> {
    const result = await this.deps.store.rebuild(queueId, () => loadProjection(this.deps.db, queueId));
    return result.status === 'not_found' ? 'not_found' : 'rebuilt';
  }
}

/**
 * An op that can never fit (removing an unknown entry) turns the change into 'conflict', which makes
 * applyOrRebuild reload the queue from Postgres: the safe answer to a change that carries no ops.
 */
function rebuildOps(): QueueOp[] {
  return [{ op: 'remove', appointmentId: '00000000-0000-0000-0000-000000000000' }];
}

function statusOf(effect: EntryEffect, staged: StagedChange): string {
  if (effect.status === 'removed') return staged.appointmentStatus ?? 'cancelled';
  return effect.status === 'waiting' ? effect.stage : effect.status;
}

function updateOf(
  meta: Omit<QueueMeta, 'consultSamples'>,
  type: QueueUpdate['type'],
  at: string,
): QueueUpdate {
  return {
    queueId: meta.queueId,
    version: meta.version,
    type,
    serial: null,
    status: meta.status,
    nowServing: meta.nowServing,
    waiting: meta.waiting,
    avgConsultSeconds: meta.avgConsultSeconds,
    paused: meta.status === 'paused',
    at,
  };
}
