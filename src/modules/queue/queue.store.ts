// The live projection of each day's queue: one interface, two implementations (Redis for production,
// memory for the embedded mode), one contract suite (test/queue/store.contract.ts).
//
// Wiring (src/app.ts, owned by the queue operations module):
//   app.decorate('queueStore', createQueueStore({ redis: app.redis, prefix: config.REDIS_PREFIX }));
// `app.redis` is null in the embedded mode, which selects the memory store. The Redis store never quits the
// connection it was given, so the redis plugin's onClose keeps owning it.
//
// Protocol for a queue operation (design §1):
//   1. Postgres transaction: status change, `version` bump (recordQueueEvent), queue_events row, outbox.
//   2. After commit: `applyOrRebuild(store, queueId, change, () => loadProjection(db, queueId))`.
//   3. One broadcast built from the returned effects (or a `rebuilt` broadcast when it says so).
import { setTimeout } from 'node:timers/promises';
import type { RedisClient } from '../../plugins/redis.js';
import { MemoryQueueStore } from './queue.store.memory.js';
import { RedisQueueStore } from './queue.store.redis.js';
import type { QueueStatus } from './queue.table.js';

/** Where an entry is in the live queue. Finished entries (completed, no_show, cancelled) are not in it. */
export type EntryStatus = 'waiting' | 'called' | 'skipped';

/**
 * Sub-status of the waiting part of the appointment life cycle. Kept for every entry so a snapshot can
 * show who has checked in; `call`/`skip`/`recall` do not change it, only the `stage` op does.
 * A rebuild derives it from the appointment: checked_in_at set → checked_in, else confirmed_at set →
 * confirmed, else booked.
 */
export type WaitingStage = 'booked' | 'confirmed' | 'checked_in';

export type EntryKind = 'booked' | 'walk_in';

/** Smallest and largest accepted `priority` (integers). Higher priority is served first. */
export const PRIORITY_MIN = -100;
export const PRIORITY_MAX = 100;
/** `positionKey` must satisfy |positionKey| < POSITION_KEY_LIMIT (serials are far below it). */
export const POSITION_KEY_LIMIT = 1e7;
/** Width of one priority band in the sorted-set score; twice POSITION_KEY_LIMIT so bands never overlap. */
export const PRIORITY_SPAN = 2e7;
/** Consult samples kept per queue for the rolling average and the percentile range. */
export const CONSULT_SAMPLES = 20;
/** Weight (in samples) of the slot-length prior in the consult estimate: it weighs k/(k+n) beside n samples. */
export const SEED_WEIGHT = 3;
/** The consult estimate never falls below this share of the slot length (a run of quick visits is not a trend). */
export const CONSULT_FLOOR_SHARE = 0.5;

/**
 * Sorted-set score of a waiting entry: order is (priority desc, positionKey asc), then appointment id
 * (byte order) on a tie, exactly as Redis orders equal scores. Both stores use this same function.
 *
 * Precision: |score| < 100 × 2e7 + 1e7 ≈ 2.01e9 < 2^31, so a double keeps at least 21 bits below the
 * unit: at the worst priority a gap of 1 between two keys can be halved ~21 times by recalls, at
 * priority 0 with serials below 10,000 ~39 times. That is far more recalls between two serials than a day has.
 */
export function scoreOf(priority: number, positionKey: number): number {
  return -priority * PRIORITY_SPAN + positionKey;
}

/** A key strictly between two keys (a recall's key: after the served entry, before its successor). */
export function keyBetween(before: number, after: number | null): number {
  return after === null ? before + 1 : before + (after - before) / 2;
}

/** One entry of the live queue. */
export interface QueueEntry {
  appointmentId: string;
  serial: number;
  status: EntryStatus;
  stage: WaitingStage;
  /** Higher first; 0 for ordinary entries, > 0 for emergencies inserted at the front. */
  priority: number;
  /** Order inside a priority band: the serial by default, a fraction for a recall (appointments.position_key). */
  positionKey: number;
  kind: EntryKind;
  /** Patient display name; only returned by privileged reads (`snapshot(id, { labels: true })`). */
  label: string | null;
  /** Scheduled estimate (ISO-8601), the floor of the ETA; null when unknown. */
  estimatedAt: string | null;
  /**
   * Fairness count baseline: the queue's `outOfOrderCount` when the entry joined the line, plus its own
   * out-of-order calls, so `outOfOrderCount − outOfOrderBase` = others called out of order since it joined
   * (see seenOutOfOrder). Set by the store on `add`; a rebuild derives it from queue_events.
   */
  outOfOrderBase: number;
}

/** An entry as an `add` op carries it: the store sets its fairness baseline. */
export type NewQueueEntry = Omit<QueueEntry, 'outOfOrderBase'>;

/** An entry as a read returns it: `position` = waiting entries ahead of it (0 = next), null unless waiting. */
export interface PositionedEntry extends QueueEntry {
  position: number | null;
}

/** Everything about a queue except its entries. */
export interface QueueMeta {
  queueId: string;
  /** session_days.version this projection reflects. */
  version: number;
  status: QueueStatus;
  /** Serial last called (session_days.now_serving), or null. */
  nowServing: number | null;
  /** Robust consult estimate in seconds (see rollingAverage); `slotMinutes × 60` until visits complete. */
  avgConsultSeconds: number;
  /** The last CONSULT_SAMPLES consult durations in seconds, oldest first. */
  consultSamples: number[];
  notice: string | null;
  /** ISO-8601 or null. */
  pausedUntil: string | null;
  /**
   * ISO-8601 start of the current pause, or null. Cleared by any `meta` patch that sets a status other than
   * 'paused'. Optional so a projection loaded without it still type-checks: absent means unknown.
   */
  pausedAt?: string | null;
  /** ISO-8601 start of the session. */
  startsAt: string;
  slotMinutes: number;
  doctorId: string;
  hospitalId: string;
  /** Local date of the session, YYYY-MM-DD. */
  date: string;
  /** Number of waiting entries. */
  waiting: number;
  /**
   * Calls made out of order (a `call` op with `outOfOrder`: a specific call with a reason code) so far
   * today. A rebuild counts the 'called' queue_events with data.outOfOrder true or a reason.
   */
  outOfOrderCount: number;
}

/** A whole projection, as read from Postgres (queue.projection.ts) for a rebuild. */
export interface QueueProjection {
  meta: Omit<QueueMeta, 'waiting' | 'avgConsultSeconds'>;
  /** Every entry not yet finished (waiting, called, skipped), any order. */
  entries: QueueEntry[];
}

/** Fields a `meta` op may change. `undefined` leaves a field as is, `null` clears it. */
export interface MetaPatch {
  status?: QueueStatus;
  nowServing?: number | null;
  notice?: string | null;
  pausedUntil?: string | null;
  /** Start of the pause (the clock's now when pausing); a status other than 'paused' clears it. */
  pausedAt?: string | null;
}

/**
 * One step of a change. Map of domain events to ops:
 * - booked / walk_in → `add` (a waiting entry; `entry.status` is ignored)
 * - cancelled → `remove`; completed → `remove` with `consultSeconds` (feeds the rolling average);
 *   no_show → `remove`; close with no-shows → one `remove` per waiting entry plus `meta` {status:'closed'}
 * - confirmed / checked_in → `stage`
 * - called → `call` (waiting or skipped → called; sets nowServing to its serial); `outOfOrder` when it
 *   was not the head of the line: bumps meta.outOfOrderCount and the entry's own outOfOrderBase
 * - skipped → `skip` (called → skipped)
 * - recalled → `recall` with the new positionKey stored in Postgres (see recallPositionKey in
 *   queue.projection.ts): skipped → waiting, right after the entry being served when that one is another
 *   entry of the same priority band, else at the front of its band
 * - paused / resumed / closed → `meta`
 * An op that does not fit the projection (unknown or duplicate entry, wrong status) makes the whole change
 * 'conflict': the projection is dropped and must be rebuilt.
 */
export type QueueOp =
  | { op: 'add'; entry: NewQueueEntry }
  | { op: 'remove'; appointmentId: string; consultSeconds?: number }
  | { op: 'stage'; appointmentId: string; stage: WaitingStage }
  | { op: 'call'; appointmentId: string; outOfOrder?: boolean }
  | { op: 'skip'; appointmentId: string }
  | { op: 'recall'; appointmentId: string; positionKey: number }
  | { op: 'meta'; patch: MetaPatch };

/** A change: the version it produced in Postgres and the ops that bring the projection there (may be empty). */
export interface QueueChange {
  version: number;
  ops: QueueOp[];
}

/** An entry at the head of the waiting line. */
export interface HeadEntry {
  appointmentId: string;
  serial: number;
  position: number;
}

/** What a change did to one entry it touched (final state after the whole change). */
export interface EntryEffect {
  appointmentId: string;
  serial: number;
  /** 'removed' when the entry left the live queue. */
  status: EntryStatus | 'removed';
  stage: WaitingStage;
  /** Waiting entries ahead of it, or null when not waiting. */
  position: number | null;
  /** Waiting only: serial of the entry it now follows, or null at the front. Undefined otherwise. */
  after?: number | null;
}

/** Result of `apply`. Only 'applied' changed anything. */
export type ApplyResult =
  | {
      status: 'applied';
      meta: Omit<QueueMeta, 'consultSamples'>;
      /** One per entry the change touched, in first-touch order. */
      entries: EntryEffect[];
      /** Waiting positions 0..headSize−1 before and after the change (see headChanges). */
      headBefore: HeadEntry[];
      head: HeadEntry[];
    }
  /** The projection already has this version or a later one (duplicate or late apply): nothing done. */
  | { status: 'stale'; version: number }
  /** No projection for this queue (never built, expired, flushed): rebuild. */
  | { status: 'missing' }
  /** The projection is behind by more than one version: rebuild. */
  | { status: 'gap'; version: number }
  /** The ops did not fit the projection; it was dropped: rebuild. */
  | { status: 'conflict'; reason: string };

export interface SnapshotOptions {
  /** Include `label` (patient names); only for staff and the queue's doctor. @default false */
  labels?: boolean;
}

/** A whole queue: meta plus entries in queue order (waiting by position, then called, then skipped, each by serial). */
export interface QueueSnapshot {
  meta: QueueMeta;
  entries: PositionedEntry[];
}

/** One appointment's place, with everything an ETA needs (see etaAt). */
export interface PositionView {
  meta: QueueMeta;
  /** Null when the appointment is not in the live queue (finished, cancelled or unknown). */
  entry: PositionedEntry | null;
}

/** Reads a projection from the source of truth; null when the queue does not exist. */
export type ProjectionLoader = () => Promise<QueueProjection | null>;

export type RebuildResult =
  /** This call replaced the projection (or found a newer one already there). */
  | { status: 'rebuilt'; version: number }
  /** Another instance held the rebuild lock; its projection is in place now. */
  | { status: 'waited'; version: number }
  /** The loader found no such queue. */
  | { status: 'not_found' };

/**
 * The live projection of each day's queue. Every method is O(log n) in the queue's length except
 * snapshot (O(n)), replace and rebuild (O(n)), and apply's ops that each cost O(log n) (plus
 * O(headSize · log n) for the head).
 */
export interface QueueStore {
  readonly kind: 'redis' | 'memory';
  /**
   * Applies one change if the projection is at `change.version − 1`; 'stale' when it is already at
   * `change.version` or beyond; 'gap' when behind; 'missing' without a projection; 'conflict' (projection
   * dropped) when an op does not fit. Atomic: all ops or none become visible.
   * @throws RangeError on a malformed change (bad priority/positionKey range, non-integer version): a bug.
   */
  apply(queueId: string, change: QueueChange): Promise<ApplyResult>;
  /** Replaces the whole projection atomically unless the current one is newer ('stale'). */
  replace(projection: QueueProjection): Promise<'replaced' | 'stale'>;
  /**
   * Rebuilds from the loader under a short per-queue lock, so one instance at a time loads a queue;
   * callers that find the lock held wait for it, then return what is there (or rebuild themselves if
   * the holder vanished).
   */
  rebuild(queueId: string, load: ProjectionLoader): Promise<RebuildResult>;
  /** The whole queue, or null when there is no projection (caller rebuilds). */
  snapshot(queueId: string, options?: SnapshotOptions): Promise<QueueSnapshot | null>;
  /** Meta only (O(1)), or null when there is no projection. */
  meta(queueId: string): Promise<QueueMeta | null>;
  /** One appointment's place (label omitted), or null when there is no projection. */
  position(queueId: string, appointmentId: string): Promise<PositionView | null>;
  /** Deletes a projection (end of day, tests). */
  drop(queueId: string): Promise<void>;
}

export interface QueueStoreOptions {
  /** Redis connection (app.redis); null or absent selects the memory store. */
  redis?: RedisClient | null;
  /** Key prefix (config.REDIS_PREFIX). @default 'cq:' */
  prefix?: string;
  /** Length of `head`/`headBefore` in apply results: turn-near threshold + 1. @default 4 */
  headSize?: number;
  /** Redis only: projection keys expire this long after the last change (rebuilt on demand). @default 172800 */
  ttlSeconds?: number;
  /** Redis only: how long a rebuild lock is held at most, in ms. @default 5000 */
  lockMs?: number;
}

/** The Redis store when a connection is given, else the memory store. */
export function createQueueStore(options: QueueStoreOptions = {}): QueueStore {
  return options.redis ? new RedisQueueStore(options.redis, options) : new MemoryQueueStore(options);
}

/**
 * Applies a change; on 'missing', 'gap' or 'conflict' rebuilds from the loader and applies again (a rebuild
 * that already includes the change answers 'stale'). `rebuilt: true` means clients must resync
 * (broadcast type `rebuilt`); `result` is then the final apply's result, often 'stale'.
 */
/** How long a change that found a version gap waits for the missing one before rebuilding (ms, in turn). */
const GAP_WAITS_MS = [1, 3, 6, 10, 20];

export async function applyOrRebuild(
  store: QueueStore,
  queueId: string,
  change: QueueChange,
  load: ProjectionLoader,
): Promise<{ result: ApplyResult; rebuilt: boolean }> {
  let result = await store.apply(queueId, change);
  // A version ahead of the projection: usually the change before it committed a moment earlier and is being
  // applied now (by another instance, or by this one's next tick); wait for it briefly before paying for a
  // rebuild, which reads the whole day from Postgres.
  for (const ms of GAP_WAITS_MS) {
    if (result.status !== 'gap') break;
    await setTimeout(ms);
    result = await store.apply(queueId, change);
  }
  if (result.status === 'applied' || result.status === 'stale') return { result, rebuilt: false };
  for (let attempt = 0; attempt < 3; attempt++) {
    const rebuilt = await store.rebuild(queueId, load);
    if (rebuilt.status === 'not_found') return { result, rebuilt: false };
    result = await store.apply(queueId, change);
    if (result.status === 'applied' || result.status === 'stale') return { result, rebuilt: true };
    // A projection loaded by another instance before our commit: drop it and load our own.
    if (result.status === 'gap') await store.drop(queueId);
  }
  return { result, rebuilt: true };
}

/**
 * Who to notify after a change: entries that became next (position 0 now, not before) and entries that
 * crossed the turn-near threshold (position ≤ threshold now, > threshold or not waiting before).
 * `threshold` must be < headSize.
 */
export function headChanges(
  before: HeadEntry[],
  after: HeadEntry[],
  threshold: number,
): { becameNext: HeadEntry[]; turnNear: HeadEntry[] } {
  const was = new Map(before.map((h) => [h.appointmentId, h.position]));
  const becameNext = after.filter((h) => h.position === 0 && was.get(h.appointmentId) !== 0);
  const turnNear = after.filter((h) => {
    const previous = was.get(h.appointmentId);
    return h.position <= threshold && (previous === undefined || previous > threshold);
  });
  return { becameNext, turnNear };
}

/**
 * Consult estimate in whole seconds from the last CONSULT_SAMPLES consults: their interquartile mean (the
 * shortest and longest quarter dropped, so a 20-second visit or a 45-minute one moves it little), blended
 * with the slot length as a prior weighing SEED_WEIGHT samples (k/(k+n): it fades as visits complete),
 * and never below CONSULT_FLOOR_SHARE of the slot. Both stores and the rebuild path call this one function.
 */
export function rollingAverage(samples: readonly number[], slotMinutes: number): number {
  const slot = slotMinutes * 60;
  const recent = samples.slice(-CONSULT_SAMPLES);
  const n = recent.length;
  const typical = n === 0 ? slot : interquartileMean(recent);
  const blended = (SEED_WEIGHT * slot + n * typical) / (SEED_WEIGHT + n);
  return Math.round(Math.max(CONSULT_FLOOR_SHARE * slot, blended));
}

/** Mean of the samples without the lowest and highest floor(n/4) (all of them below 4 samples). */
function interquartileMean(samples: readonly number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  const cut = Math.floor(sorted.length / 4);
  const kept = sorted.slice(cut, sorted.length - cut);
  let sum = 0;
  for (const s of kept) sum += s;
  return sum / kept.length;
}

/** Consult duration to pass with a completed `remove`: whole seconds from called to completed. */
export function consultSeconds(calledAt: Date, completedAt: Date): number {
  return Math.max(0, Math.round((completedAt.getTime() - calledAt.getTime()) / 1000));
}

/** 20th–80th percentile of recent consults (seconds), once at least 5 visits completed; else null. */
export function consultRange(samples: readonly number[]): { low: number; high: number } | null {
  if (samples.length < 5) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1) + 0.5))];
  return { low: at(0.2), high: at(0.8) };
}

/**
 * When the line moves again, in epoch ms: now while open; while paused, the announced end (`pausedUntil`)
 * while it is ahead, else now plus the time paused so far (since `pausedAt`, or since `pausedUntil` once
 * that has passed): a pause of unknown length that has lasted d is about as likely to last d more.
 */
export function etaStart(meta: Pick<QueueMeta, 'status' | 'pausedUntil' | 'pausedAt'>, now: Date): number {
  const t = now.getTime();
  if (meta.status !== 'paused') return t;
  const until = meta.pausedUntil ? Date.parse(meta.pausedUntil) : null;
  if (until !== null && until > t) return until;
  const since = until ?? (meta.pausedAt ? Date.parse(meta.pausedAt) : null);
  return since === null ? t : t + Math.max(0, t - since);
}

/**
 * ETA of a waiting entry: etaStart + position × consult estimate, never before its scheduled estimate.
 * Null when the entry is not waiting.
 */
export function etaAt(view: PositionView, now: Date): Date | null {
  const entry = view.entry;
  if (!entry || entry.position === null) return null;
  let at = etaStart(view.meta, now) + entry.position * view.meta.avgConsultSeconds * 1000;
  if (entry.estimatedAt) at = Math.max(at, Date.parse(entry.estimatedAt));
  return new Date(at);
}

/**
 * The range a patient is shown around their ETA: etaStart + position × the 20th and 80th percentile consult,
 * never before the scheduled estimate. Null when the entry is not waiting or fewer than 5 visits completed.
 */
export function etaRange(view: PositionView, now: Date): { from: string; to: string } | null {
  const position = view.entry?.position;
  if (position === null || position === undefined) return null;
  const range = consultRange(view.meta.consultSamples);
  if (!range) return null;
  const floor = view.entry?.estimatedAt ? Date.parse(view.entry.estimatedAt) : 0;
  const start = etaStart(view.meta, now);
  const from = Math.max(floor, start + position * range.low * 1000);
  const to = Math.max(floor, start + position * range.high * 1000);
  return { from: new Date(from).toISOString(), to: new Date(to).toISOString() };
}

/**
 * The fairness count a waiting patient may see ("2 patients were seen ahead of you out of order"): others
 * called out of order since this appointment joined the line. Null when it is not waiting. Names nobody.
 */
export function seenOutOfOrder(view: PositionView): number | null {
  const entry = view.entry;
  if (!entry || entry.position === null) return null;
  return Math.max(0, view.meta.outOfOrderCount - entry.outOfOrderBase);
}

/** Checks a change before either store touches anything; a malformed change is a programming error. */
export function assertValidChange(change: QueueChange): void {
  if (!Number.isInteger(change.version) || change.version < 1) {
    throw new RangeError(`queue change version must be a positive integer, got ${change.version}`);
  }
  for (const op of change.ops) {
    if (op.op === 'add') assertValidEntry(op.entry);
    if (op.op === 'recall') assertPositionKey(op.positionKey);
    if (op.op === 'remove' && op.consultSeconds !== undefined) {
      if (!Number.isInteger(op.consultSeconds) || op.consultSeconds < 0)
        throw new RangeError(`consultSeconds must be a non-negative integer, got ${op.consultSeconds}`);
    }
  }
}

export function assertValidEntry(entry: NewQueueEntry): void {
  if (!Number.isInteger(entry.priority) || entry.priority < PRIORITY_MIN || entry.priority > PRIORITY_MAX) {
    throw new RangeError(`priority must be an integer in [${PRIORITY_MIN}, ${PRIORITY_MAX}]`);
  }
  if (!Number.isInteger(entry.serial) || entry.serial < 1)
    throw new RangeError('serial must be a positive integer');
  assertPositionKey(entry.positionKey);
}

function assertPositionKey(key: number): void {
  if (!Number.isFinite(key) || Math.abs(key) >= POSITION_KEY_LIMIT) {
    throw new RangeError(`positionKey must be finite with |positionKey| < ${POSITION_KEY_LIMIT}`);
  }
}
