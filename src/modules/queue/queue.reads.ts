// The read side of the live queue: lists, snapshots, one appointment's view (GET /track, appointment:watch)
// with its ETA, range and fairness count, all served from the projection; plus the small caches of queue
// context and tracking links that reads and operations share. The public reads (the guest snapshot, /track)
// are what every phone and lobby screen polls, so they are kept per queue version: a request learns the
// queue's version from what this instance has heard announced (queue.versions.ts), or else reads it (one read
// shared by the requests that arrive together), and a version seen before is answered from memory — the
// guest snapshot as its finished JSON text.
import { LRUCache } from 'lru-cache';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError, forbidden, notFound } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import { hashToken } from '../../lib/tokens.js';
import { canManage, type Viewer } from './queue.access.js';
import type { LiveQueue } from './queue.live.js';
import {
  appointmentOwnerIds,
  findAppointment,
  findAppointmentByTrackingHash,
  findQueueContext,
  listQueues,
  type QueueContext,
} from './queue.repository.js';
import type {
  AppointmentWatchView,
  QueueListQuery,
  QueueSummary,
  Snapshot,
  TrackView,
} from './queue.schema.js';
import { etaAt, etaRange, type PositionView, seenOutOfOrder } from './queue.store.js';

export interface QueueReadsDeps {
  db: DB;
  clock: Clock;
  live: LiveQueue;
}

export interface TrackedAppointment {
  appointmentId: string;
  queueId: string;
}

/** The guest snapshot of one queue version as the route serialises it. */
export interface SerializedSnapshot {
  version: number;
  body: string;
}

/**
 * One read per key in flight. A caller that arrives while a read runs waits for the next one, which starts when
 * that one ends and serves everyone who arrived meanwhile: no caller gets an answer read before it asked, and a
 * crowd polling one queue costs one read per round trip instead of one each.
 */
export class Coalescer<T> {
  readonly #running = new Map<string, Promise<T>>();
  readonly #next = new Map<string, Promise<T>>();

  read(key: string, load: () => Promise<T>): Promise<T> {
    const next = this.#next.get(key);
    if (next) return next;
    const running = this.#running.get(key);
    if (!running) return this.#start(key, load);
    const queued = running
      .catch(() => undefined)
      .then(() => {
        this.#next.delete(key);
        return this.#start(key, load);
      });
    this.#next.set(key, queued);
    return queued;
  }

  #start(key: string, load: () => Promise<T>): Promise<T> {
    const started = load().finally(() => {
      if (this.#running.get(key) === started) this.#running.delete(key);
    });
    this.#running.set(key, started);
    return started;
  }
}

interface ResolvedPosition {
  version: number;
  view: PositionView;
  serial: number;
  status: string;
}

const isoOf = (v: Date | string) => new Date(v).toISOString();

export class QueueReads {
  readonly #tracking = new LRUCache<string, TrackedAppointment>({ max: 50_000, ttl: 60_000 });
  readonly #contexts = new LRUCache<string, QueueContext>({ max: 5_000, ttl: 300_000 });
  readonly #versions = new Coalescer<number | null>();
  readonly #guestBuilds = new Coalescer<SerializedSnapshot>();
  /** Bounded by text size too: a 10,000-entry queue's snapshot is about half a megabyte. */
  readonly #guest = new LRUCache<string, SerializedSnapshot>({
    max: 5_000,
    maxSize: 64 * 1024 * 1024,
    sizeCalculation: (snapshot) => snapshot.body.length + 64,
  });
  readonly #positionReads = new Coalescer<ResolvedPosition | null>();
  readonly #positions = new LRUCache<string, ResolvedPosition>({ max: 20_000 });

  constructor(private readonly deps: QueueReadsDeps) {}

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
        startsAt: isoOf(r.startsAt),
        endsAt: isoOf(r.endsAt),
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
        // Guests (the lobby screen) see an emergency as a mark on its serial, never a name.
        if (!privileged)
          return {
            serial: e.serial,
            status,
            position: e.position,
            ...(e.priority > 0 ? { priority: e.priority } : {}),
          };
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

  /**
   * The guest snapshot as JSON text, `serialize`d once per queue version: what a guest, or a patient (who
   * sees what a guest sees), gets from GET /queues/:id.
   */
  async guestSnapshot(
    queueId: string,
    serialize: (snapshot: Snapshot) => string,
  ): Promise<SerializedSnapshot> {
    const cached = this.#guest.get(queueId);
    const version = this.deps.live.versions.current(queueId) ?? (await this.#version(queueId));
    if (version === null) throw notFound('Queue');
    if (cached && cached.version >= version) return cached;
    const built = await this.#guestBuilds.read(queueId, async () => {
      const snapshot = await this.snapshot(null, queueId);
      return { version: snapshot.version, body: serialize(snapshot) };
    });
    if (built.version >= (this.#guest.get(queueId)?.version ?? -1)) this.#guest.set(queueId, built);
    return built;
  }

  /** The queue's projected version now (null: no such queue); concurrent callers share one read. */
  #version(queueId: string): Promise<number | null> {
    return this.#versions.read(queueId, async () => {
      const { versions } = this.deps.live;
      const mark = versions.mark();
      const version = (await this.deps.live.meta(queueId))?.version ?? null;
      if (version !== null) versions.record(mark, queueId, version);
      return version;
    });
  }

  /** GET /track/:token — the one appointment a tracking link follows, and nothing else about its patient. */
  async track(trackingToken: string): Promise<TrackView> {
    const target = await this.byTrackingToken(trackingToken);
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
    const context = await this.context(row.queueId);
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
      seenOutOfOrder: view.seenOutOfOrder,
      version: view.version,
    };
  }

  /** The appointment and queue a tracking token belongs to (cached briefly; tokens never move). */
  async byTrackingToken(token: string): Promise<TrackedAppointment> {
    const hash = hashToken(token);
    const cached = this.#tracking.get(hash);
    if (cached) return cached;
    const row = await findAppointmentByTrackingHash(this.deps.db, hash);
    if (!row) throw notFound('Tracking link');
    const found = { appointmentId: row.id, queueId: row.queueId };
    this.#tracking.set(hash, found);
    return found;
  }

  /** Zone, names and room of a queue (cached: they do not change during a day). */
  async context(queueId: string): Promise<QueueContext> {
    const cached = this.#contexts.get(queueId);
    if (cached) return cached;
    const context = await findQueueContext(this.deps.db, queueId);
    if (!context) throw notFound('Queue');
    this.#contexts.set(queueId, context);
    return context;
  }

  /** One appointment's place at the queue's current version; read again only when the version moved. */
  async #resolvedPosition(queueId: string, appointmentId: string): Promise<ResolvedPosition> {
    const key = `${queueId}:${appointmentId}`;
    const cached = this.#positions.get(key);
    const version = this.deps.live.versions.current(queueId) ?? (await this.#version(queueId));
    if (version === null) throw notFound('Queue');
    if (cached && cached.version >= version) return cached;
    const resolved = await this.#positionReads.read(key, async () => {
      const view = await this.deps.live.position(queueId, appointmentId);
      if (!view) return null;
      if (view.entry) {
        const { entry } = view;
        const status = entry.status === 'waiting' ? entry.stage : entry.status;
        return { version: view.meta.version, view, serial: entry.serial, status };
      }
      const row = await findAppointment(this.deps.db, appointmentId);
      if (!row) throw notFound('Appointment');
      return { version: view.meta.version, view, serial: row.serial, status: row.status };
    });
    if (!resolved) throw notFound('Queue');
    if (resolved.version >= (this.#positions.get(key)?.version ?? -1)) this.#positions.set(key, resolved);
    return resolved;
  }

  async #trackView(queueId: string, appointmentId: string): Promise<TrackView> {
    const context = await this.context(queueId);
    const { view, serial, status } = await this.#resolvedPosition(queueId, appointmentId);
    const now = this.deps.clock.now();
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
      etaRange: etaRange(view, now),
      seenOutOfOrder: seenOutOfOrder(view),
      queueStatus: view.meta.status,
      notice: view.meta.notice,
      doctorName: context.doctorName,
      hospitalName: context.hospitalName,
      room: context.room,
    };
  }
}
