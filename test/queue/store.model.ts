// A deliberately simple reference model of a queue projection (arrays, re-sorted on every read) and a
// generator of valid changes, for the model-based property test and the rebuild test.
import fc from 'fast-check';
import {
  CONSULT_SAMPLES,
  type EntryEffect,
  type HeadEntry,
  keyBetween,
  type PositionedEntry,
  type QueueEntry,
  type QueueMeta,
  type QueueOp,
  type QueueProjection,
  rollingAverage,
  scoreOf,
  type WaitingStage,
} from '../../src/modules/queue/queue.store.js';
import type { QueueStatus } from '../../src/modules/queue/queue.table.js';

export interface ModelState {
  queueId: string;
  version: number;
  nextSerial: number;
  status: QueueStatus;
  nowServing: number | null;
  notice: string | null;
  pausedUntil: string | null;
  pausedAt: string | null;
  samples: number[];
  /** Out-of-order calls so far (meta.outOfOrderCount). */
  outOfOrderCount: number;
  slotMinutes: number;
  doctorId: string;
  hospitalId: string;
  entries: QueueEntry[];
  /** Every key an entry ever had, by serial (Postgres keeps finished rows: the recall anchor). */
  keysBySerial: Record<number, { priority: number; positionKey: number }>;
}

export const BASE_META = {
  startsAt: '2030-01-07T03:00:00.000Z',
  doctorId: '00000000-0000-4000-8000-00000000d0c7',
  hospitalId: '00000000-0000-4000-8000-000000000405',
  date: '2030-01-07',
} as const;

export function emptyModel(
  queueId: string,
  ids: { doctorId?: string; hospitalId?: string; slotMinutes?: number } = {},
): ModelState {
  return {
    queueId,
    version: 0,
    nextSerial: 1,
    status: 'open',
    nowServing: null,
    notice: null,
    pausedUntil: null,
    pausedAt: null,
    samples: [],
    outOfOrderCount: 0,
    slotMinutes: ids.slotMinutes ?? 10,
    doctorId: ids.doctorId ?? BASE_META.doctorId,
    hospitalId: ids.hospitalId ?? BASE_META.hospitalId,
    entries: [],
    keysBySerial: {},
  };
}

/** Queue order as documented: score (priority, positionKey), then appointment id. */
export function waitingOrder(model: ModelState): QueueEntry[] {
  return model.entries
    .filter((e) => e.status === 'waiting')
    .sort((a, b) => {
      const sa = scoreOf(a.priority, a.positionKey);
      const sb = scoreOf(b.priority, b.positionKey);
      return sa !== sb ? sa - sb : a.appointmentId < b.appointmentId ? -1 : 1;
    });
}

export function modelSnapshot(model: ModelState): { meta: QueueMeta; entries: PositionedEntry[] } {
  const waiting = waitingOrder(model).map((e, i) => ({ ...e, position: i }));
  const rest = (status: string) =>
    model.entries
      .filter((e) => e.status === status)
      .sort((a, b) => a.serial - b.serial)
      .map((e) => ({ ...e, position: null }));
  return { meta: modelMeta(model), entries: [...waiting, ...rest('called'), ...rest('skipped')] };
}

export function modelMeta(model: ModelState): QueueMeta {
  return {
    queueId: model.queueId,
    version: model.version,
    status: model.status,
    nowServing: model.nowServing,
    avgConsultSeconds: rollingAverage(model.samples, model.slotMinutes),
    consultSamples: [...model.samples],
    notice: model.notice,
    pausedUntil: model.pausedUntil,
    pausedAt: model.pausedAt,
    startsAt: BASE_META.startsAt,
    date: BASE_META.date,
    doctorId: model.doctorId,
    hospitalId: model.hospitalId,
    slotMinutes: model.slotMinutes,
    waiting: model.entries.filter((e) => e.status === 'waiting').length,
    outOfOrderCount: model.outOfOrderCount,
  };
}

export function modelProjection(model: ModelState): QueueProjection {
  const { waiting: _w, avgConsultSeconds: _a, ...meta } = modelMeta(model);
  return { meta, entries: model.entries.map((e) => ({ ...e })) };
}

export function modelHead(model: ModelState, size: number): HeadEntry[] {
  return waitingOrder(model)
    .slice(0, size)
    .map((e, position) => ({ appointmentId: e.appointmentId, serial: e.serial, position }));
}

/** Applies valid ops to a copy of the model; returns it and the effects the store must report. */
export function applyToModel(
  source: ModelState,
  version: number,
  ops: QueueOp[],
): { model: ModelState; effects: EntryEffect[] } {
  const model: ModelState = structuredClone(source);
  const touched: string[] = [];
  const last = new Map<string, QueueEntry>();
  const touch = (e: QueueEntry) => {
    if (!last.has(e.appointmentId)) touched.push(e.appointmentId);
    last.set(e.appointmentId, { ...e });
  };
  for (const op of ops) {
    if (op.op === 'meta') {
      for (const [k, v] of Object.entries(op.patch)) {
        if (v !== undefined) (model as unknown as Record<string, unknown>)[k] = v;
      }
      if (op.patch.status !== undefined && op.patch.status !== 'paused') model.pausedAt = null;
      continue;
    }
    if (op.op === 'add') {
      const e: QueueEntry = { ...op.entry, status: 'waiting', outOfOrderBase: model.outOfOrderCount };
      model.entries.push(e);
      model.keysBySerial[e.serial] = { priority: e.priority, positionKey: e.positionKey };
      touch(e);
      continue;
    }
    const e = model.entries.find((x) => x.appointmentId === op.appointmentId)!;
    if (op.op === 'remove') {
      model.entries = model.entries.filter((x) => x !== e);
      if (op.consultSeconds !== undefined)
        model.samples = [...model.samples, op.consultSeconds].slice(-CONSULT_SAMPLES);
    } else if (op.op === 'stage') e.stage = op.stage;
    else if (op.op === 'call') {
      e.status = 'called';
      model.nowServing = e.serial;
      if (op.outOfOrder) {
        model.outOfOrderCount++;
        e.outOfOrderBase++;
      }
    } else if (op.op === 'skip') e.status = 'skipped';
    else if (op.op === 'recall') {
      e.status = 'waiting';
      e.positionKey = op.positionKey;
      model.keysBySerial[e.serial] = { priority: e.priority, positionKey: e.positionKey };
    }
    touch(e);
  }
  model.version = version;
  const order = waitingOrder(model);
  const effects = touched.map((id): EntryEffect => {
    const current = model.entries.find((x) => x.appointmentId === id);
    const seen = last.get(id)!;
    if (!current) {
      return { appointmentId: id, serial: seen.serial, status: 'removed', stage: seen.stage, position: null };
    }
    const effect: EntryEffect = {
      appointmentId: id,
      serial: current.serial,
      status: current.status,
      stage: current.stage,
      position: null,
    };
    if (current.status === 'waiting') {
      const i = order.findIndex((x) => x.appointmentId === id);
      effect.position = i;
      effect.after = i === 0 ? null : order[i - 1].serial;
    }
    return effect;
  });
  return { model, effects };
}

/**
 * The recall key queue.projection.ts's recallPositionKey computes from Postgres, computed on the model:
 * right after the served entry when it is another entry of the same priority band, else at the front of
 * the band.
 */
export function modelRecallKey(model: ModelState, target: QueueEntry): number {
  const band = model.entries.filter(
    (e) =>
      e.status === 'waiting' && e.priority === target.priority && e.appointmentId !== target.appointmentId,
  );
  const served = model.nowServing === null ? undefined : model.keysBySerial[model.nowServing];
  const anchorOnServed =
    served !== undefined && model.nowServing !== target.serial && served.priority === target.priority;
  let anchor: number;
  if (served && anchorOnServed) anchor = served.positionKey;
  else anchor = band.length === 0 ? target.positionKey : Math.min(...band.map((e) => e.positionKey)) - 1;
  const later = band.map((e) => e.positionKey).filter((k) => k > anchor);
  return keyBetween(anchor, later.length === 0 ? null : Math.min(...later));
}

/** An abstract step; `pick` chooses among the candidates of the step, modulo their count. */
export type Action =
  | { t: 'add'; priority: number; tag: string; walkIn: boolean }
  | { t: 'addTie'; pick: number; tag: string }
  | { t: 'remove'; pick: number; consult: number }
  | { t: 'stage'; pick: number; stage: WaitingStage }
  | { t: 'callNext' }
  | { t: 'call'; pick: number }
  | { t: 'skip'; pick: number }
  | { t: 'recall'; pick: number }
  | { t: 'pause'; minutes: number }
  | { t: 'resume' }
  | { t: 'closeWithNoShows' }
  | { t: 'duplicate' }
  | { t: 'late' }
  | { t: 'gap' }
  | { t: 'flush' };

const pickFrom = <T>(list: T[], pick: number): T | undefined =>
  list.length ? list[pick % list.length] : undefined;

export function newEntry(
  model: ModelState,
  tag: string,
  priority: number,
  kind: 'booked' | 'walk_in',
  key?: number,
) {
  const serial = model.nextSerial;
  return {
    appointmentId: `${tag}-${String(serial).padStart(3, '0')}`,
    serial,
    status: 'waiting' as const,
    stage: 'booked' as const,
    priority,
    positionKey: key ?? serial,
    kind,
    label: `Patient ${serial}`,
    estimatedAt: new Date(Date.parse(BASE_META.startsAt) + serial * 600_000).toISOString(),
  };
}

/**
 * The ops a valid change for this action would carry (the same ones the operations service sends), or
 * null for actions that are not changes (duplicate, late, gap, flush). Impossible actions become [].
 */
export function opsFor(model: ModelState, action: Action): QueueOp[] | null {
  const live = model.entries;
  const waiting = waitingOrder(model);
  switch (action.t) {
    case 'add':
      return [
        {
          op: 'add',
          entry: newEntry(model, action.tag, action.priority, action.walkIn ? 'walk_in' : 'booked'),
        },
      ];
    case 'addTie': {
      const twin = pickFrom(waiting, action.pick);
      if (!twin) return [];
      return [{ op: 'add', entry: newEntry(model, action.tag, twin.priority, 'walk_in', twin.positionKey) }];
    }
    case 'remove': {
      const e = pickFrom(live, action.pick);
      if (!e) return [];
      return [
        {
          op: 'remove',
          appointmentId: e.appointmentId,
          ...(e.status === 'called' ? { consultSeconds: action.consult } : {}),
        },
      ];
    }
    case 'stage': {
      const e = pickFrom(live, action.pick);
      return e ? [{ op: 'stage', appointmentId: e.appointmentId, stage: action.stage }] : [];
    }
    case 'callNext':
      return waiting.length ? [{ op: 'call', appointmentId: waiting[0].appointmentId }] : [];
    case 'call': {
      const e = pickFrom(
        live.filter((x) => x.status !== 'called'),
        action.pick,
      );
      if (!e) return [];
      // As the operations service does: a call of anyone but the head is out of order (with a reason).
      return waiting[0]?.appointmentId === e.appointmentId
        ? [{ op: 'call', appointmentId: e.appointmentId }]
        : [{ op: 'call', appointmentId: e.appointmentId, outOfOrder: true }];
    }
    case 'skip': {
      const e = pickFrom(
        live.filter((x) => x.status === 'called'),
        action.pick,
      );
      return e ? [{ op: 'skip', appointmentId: e.appointmentId }] : [];
    }
    case 'recall': {
      const e = pickFrom(
        live.filter((x) => x.status === 'skipped'),
        action.pick,
      );
      return e
        ? [{ op: 'recall', appointmentId: e.appointmentId, positionKey: modelRecallKey(model, e) }]
        : [];
    }
    case 'pause':
      return [
        {
          op: 'meta',
          patch: {
            status: 'paused',
            notice: `Back in ${action.minutes} min`,
            pausedUntil:
              action.minutes % 3 === 0
                ? null
                : new Date(Date.parse(BASE_META.startsAt) + action.minutes * 60_000).toISOString(),
            pausedAt: BASE_META.startsAt,
          },
        },
      ];
    case 'resume':
      return [{ op: 'meta', patch: { status: 'open', notice: null, pausedUntil: null } }];
    case 'closeWithNoShows':
      return [
        ...waiting.map((e) => ({ op: 'remove' as const, appointmentId: e.appointmentId })),
        { op: 'meta', patch: { status: 'closed' } },
      ];
    default:
      return null;
  }
}

const tag = fc.integer({ min: 0, max: 255 }).map((n) => n.toString(16).padStart(2, '0'));

/** Random steps, weighted towards a realistic day (bookings and call-next dominate). */
export const actionArb: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('add' as const),
      priority: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, fc.integer({ min: -2, max: 3 })),
      tag,
      walkIn: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('addTie' as const), pick: fc.nat(), tag }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('remove' as const),
      pick: fc.nat(),
      consult: fc.integer({ min: 0, max: 3600 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('stage' as const),
      pick: fc.nat(),
      stage: fc.constantFrom('booked' as const, 'confirmed' as const, 'checked_in' as const),
    }),
  },
  { weight: 5, arbitrary: fc.constant({ t: 'callNext' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('call' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('skip' as const), pick: fc.nat() }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('recall' as const), pick: fc.nat() }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('pause' as const), minutes: fc.integer({ min: 1, max: 120 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'resume' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'closeWithNoShows' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'duplicate' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'late' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'gap' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'flush' as const }) },
);
