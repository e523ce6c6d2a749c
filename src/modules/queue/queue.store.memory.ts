// In-process queue store for the embedded mode (one process, no Redis). Same semantics as the Redis store,
// checked by the same contract suite; the waiting line is an order-statistics tree, so every change and
// every position read is O(log n).
import { OrderTree } from './queue.order-tree.js';
import {
  type ApplyResult,
  assertValidChange,
  assertValidEntry,
  CONSULT_SAMPLES,
  type EntryEffect,
  type HeadEntry,
  type PositionedEntry,
  type PositionView,
  type ProjectionLoader,
  type QueueChange,
  type QueueEntry,
  type QueueMeta,
  type QueueOp,
  type QueueProjection,
  type QueueSnapshot,
  type QueueStore,
  type QueueStoreOptions,
  type RebuildResult,
  rollingAverage,
  type SnapshotOptions,
  scoreOf,
} from './queue.store.js';

type StoredMeta = Omit<QueueMeta, 'waiting' | 'avgConsultSeconds'>;

interface MemoryQueue {
  meta: StoredMeta;
  entries: Map<string, QueueEntry>;
  waiting: OrderTree;
  called: Set<string>;
  skipped: Set<string>;
}

class Conflict extends Error {}

interface Touched {
  entry: QueueEntry;
  removed: boolean;
}

export class MemoryQueueStore implements QueueStore {
  readonly kind = 'memory' as const;
  readonly #queues = new Map<string, MemoryQueue>();
  readonly #rebuilding = new Map<string, Promise<RebuildResult>>();
  readonly #headSize: number;

  constructor(options: QueueStoreOptions = {}) {
    this.#headSize = options.headSize ?? 4;
  }

  async apply(queueId: string, change: QueueChange): Promise<ApplyResult> {
    assertValidChange(change);
    const queue = this.#queues.get(queueId);
    if (!queue) return { status: 'missing' };
    if (queue.meta.version >= change.version) return { status: 'stale', version: queue.meta.version };
    if (queue.meta.version < change.version - 1) return { status: 'gap', version: queue.meta.version };
    const headBefore = this.#head(queue);
    const touched: string[] = [];
    const last = new Map<string, Touched>();
    try {
      for (const op of change.ops) {
        const result = applyOp(queue, op);
        if (result) {
          if (!last.has(result.entry.appointmentId)) touched.push(result.entry.appointmentId);
          last.set(result.entry.appointmentId, result);
        }
      }
    } catch (err) {
      if (!(err instanceof Conflict)) throw err;
      this.#queues.delete(queueId);
      return { status: 'conflict', reason: err.message };
    }
    queue.meta.version = change.version;
    const entries = touched.map((id) => effectOf(queue, last.get(id)!));
    const { consultSamples: _samples, ...meta } = metaOf(queue);
    return { status: 'applied', meta, entries, headBefore, head: this.#head(queue) };
  }

  async replace(projection: QueueProjection): Promise<'replaced' | 'stale'> {
    const current = this.#queues.get(projection.meta.queueId);
    if (current && current.meta.version > projection.meta.version) return 'stale';
    const queue: MemoryQueue = {
      meta: {
        ...projection.meta,
        pausedAt: projection.meta.pausedAt ?? null,
        consultSamples: projection.meta.consultSamples.slice(-CONSULT_SAMPLES),
      },
      entries: new Map(),
      waiting: new OrderTree(),
      called: new Set(),
      skipped: new Set(),
    };
    for (const source of projection.entries) {
      assertValidEntry(source);
      const entry = { ...source };
      queue.entries.set(entry.appointmentId, entry);
      if (entry.status === 'waiting')
        queue.waiting.set(entry.appointmentId, scoreOf(entry.priority, entry.positionKey));
      else if (entry.status === 'called') queue.called.add(entry.appointmentId);
      else queue.skipped.add(entry.appointmentId);
    }
    this.#queues.set(projection.meta.queueId, queue);
    return 'replaced';
  }

  async rebuild(queueId: string, load: ProjectionLoader): Promise<RebuildResult> {
    const running = this.#rebuilding.get(queueId);
    if (running) {
      const outcome = await running;
      return outcome.status === 'not_found' ? outcome : { status: 'waited', version: outcome.version };
    }
    const work = (async (): Promise<RebuildResult> => {
      const projection = await load();
      if (!projection) return { status: 'not_found' };
      await this.replace(projection);
      return {
        status: 'rebuilt',
        version: this.#queues.get(queueId)?.meta.version ?? projection.meta.version,
      };
    })();
    this.#rebuilding.set(queueId, work);
    try {
      return await work;
    } finally {
      this.#rebuilding.delete(queueId);
    }
  }

  async snapshot(queueId: string, options: SnapshotOptions = {}): Promise<QueueSnapshot | null> {
    const queue = this.#queues.get(queueId);
    if (!queue) return null;
    const view = (entry: QueueEntry, position: number | null): PositionedEntry => ({
      ...entry,
      label: options.labels ? entry.label : null,
      position,
    });
    const entries = queue.waiting.members().map((id, i) => view(queue.entries.get(id)!, i));
    for (const set of [queue.called, queue.skipped]) {
      const sorted = [...set].map((id) => queue.entries.get(id)!).sort((a, b) => a.serial - b.serial);
      for (const entry of sorted) entries.push(view(entry, null));
    }
    return { meta: metaOf(queue), entries };
  }

  async meta(queueId: string): Promise<QueueMeta | null> {
    const queue = this.#queues.get(queueId);
    return queue ? metaOf(queue) : null;
  }

  async position(queueId: string, appointmentId: string): Promise<PositionView | null> {
    const queue = this.#queues.get(queueId);
    if (!queue) return null;
    const entry = queue.entries.get(appointmentId);
    return {
      meta: metaOf(queue),
      entry: entry ? { ...entry, label: null, position: queue.waiting.rank(appointmentId) } : null,
    };
  }

  async drop(queueId: string): Promise<void> {
    this.#queues.delete(queueId);
  }

  #head(queue: MemoryQueue): HeadEntry[] {
    return queue.waiting.range(0, this.#headSize - 1).map((id, position) => ({
      appointmentId: id,
      serial: queue.entries.get(id)!.serial,
      position,
    }));
  }
}

/** Applies one op; returns the entry it touched, if any. */
function applyOp(queue: MemoryQueue, op: QueueOp): Touched | null {
  if (op.op === 'meta') {
    const { patch } = op;
    if (patch.status !== undefined) queue.meta.status = patch.status;
    if (patch.nowServing !== undefined) queue.meta.nowServing = patch.nowServing;
    if (patch.notice !== undefined) queue.meta.notice = patch.notice;
    if (patch.pausedUntil !== undefined) queue.meta.pausedUntil = patch.pausedUntil;
    if (patch.pausedAt !== undefined) queue.meta.pausedAt = patch.pausedAt;
    if (patch.status !== undefined && patch.status !== 'paused') queue.meta.pausedAt = null;
    return null;
  }
  if (op.op === 'add') {
    const id = op.entry.appointmentId;
    if (queue.entries.has(id)) throw new Conflict(`entry ${id} already in the queue`);
    const entry: QueueEntry = {
      ...op.entry,
      status: 'waiting',
      outOfOrderBase: queue.meta.outOfOrderCount,
    };
    queue.entries.set(id, entry);
    queue.waiting.set(id, scoreOf(entry.priority, entry.positionKey));
    return { entry, removed: false };
  }
  const entry = queue.entries.get(op.appointmentId);
  if (!entry) throw new Conflict(`entry ${op.appointmentId} not in the queue`);
  const id = entry.appointmentId;
  switch (op.op) {
    case 'remove':
      queue.entries.delete(id);
      queue.waiting.delete(id);
      queue.called.delete(id);
      queue.skipped.delete(id);
      if (op.consultSeconds !== undefined) {
        queue.meta.consultSamples = [...queue.meta.consultSamples, op.consultSeconds].slice(-CONSULT_SAMPLES);
      }
      return { entry, removed: true };
    case 'stage':
      entry.stage = op.stage;
      return { entry, removed: false };
    case 'call':
      if (entry.status === 'called') throw new Conflict(`entry ${id} is already called`);
      queue.waiting.delete(id);
      queue.skipped.delete(id);
      queue.called.add(id);
      entry.status = 'called';
      queue.meta.nowServing = entry.serial;
      if (op.outOfOrder) {
        queue.meta.outOfOrderCount++;
        entry.outOfOrderBase++;
      }
      return { entry, removed: false };
    case 'skip':
      if (entry.status !== 'called') throw new Conflict(`entry ${id} is ${entry.status}, not called`);
      queue.called.delete(id);
      queue.skipped.add(id);
      entry.status = 'skipped';
      return { entry, removed: false };
    case 'recall':
      if (entry.status !== 'skipped') throw new Conflict(`entry ${id} is ${entry.status}, not skipped`);
      queue.skipped.delete(id);
      entry.status = 'waiting';
      entry.positionKey = op.positionKey;
      queue.waiting.set(id, scoreOf(entry.priority, entry.positionKey));
      return { entry, removed: false };
  }
}

function effectOf(queue: MemoryQueue, { entry, removed }: Touched): EntryEffect {
  const status = removed ? 'removed' : entry.status;
  const effect: EntryEffect = {
    appointmentId: entry.appointmentId,
    serial: entry.serial,
    status,
    stage: entry.stage,
    position: null,
  };
  if (status === 'waiting') {
    const rank = queue.waiting.rank(entry.appointmentId)!;
    effect.position = rank;
    effect.after = rank === 0 ? null : queue.entries.get(queue.waiting.at(rank - 1)!)!.serial;
  }
  return effect;
}

function metaOf(queue: MemoryQueue): QueueMeta {
  return {
    ...queue.meta,
    consultSamples: [...queue.meta.consultSamples],
    avgConsultSeconds: rollingAverage(queue.meta.consultSamples, queue.meta.slotMinutes),
    waiting: queue.waiting.size,
  };
}
