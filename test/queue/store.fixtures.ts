// Builders shared by the queue store tests.
import { randomUUID } from 'node:crypto';
import type {
  QueueEntry,
  QueueProjection,
  QueueStore,
  WaitingStage,
} from '../../src/modules/queue/queue.store.js';

/** Makes a store and disposes of it (and whatever it wrote). */
export type StoreFactory = () => Promise<{ store: QueueStore; close(): Promise<void> }>;

export function entry(
  appointmentId: string,
  serial: number,
  extra: Partial<Omit<QueueEntry, 'appointmentId' | 'serial'>> = {},
): QueueEntry {
  return {
    appointmentId,
    serial,
    status: 'waiting',
    stage: 'booked' as WaitingStage,
    priority: 0,
    positionKey: serial,
    kind: 'booked',
    label: `Patient ${serial}`,
    estimatedAt: new Date(Date.UTC(2030, 0, 7, 3, serial * 10)).toISOString(),
    outOfOrderBase: 0,
    ...extra,
  };
}

export function projection(
  entries: QueueEntry[] = [],
  meta: Partial<QueueProjection['meta']> = {},
): QueueProjection {
  return {
    meta: {
      queueId: randomUUID(),
      version: 0,
      status: 'open',
      nowServing: null,
      consultSamples: [],
      notice: null,
      pausedUntil: null,
      startsAt: '2030-01-07T03:00:00.000Z',
      slotMinutes: 10,
      doctorId: randomUUID(),
      hospitalId: randomUUID(),
      date: '2030-01-07',
      outOfOrderCount: 0,
      ...meta,
    },
    entries,
  };
}

/** A queue with waiting entries a1…aN (serials 1…N) at version 0; returns its id. */
export async function seedQueue(
  store: QueueStore,
  count: number,
  meta: Partial<QueueProjection['meta']> = {},
) {
  const entries = Array.from({ length: count }, (_, i) => entry(`a${i + 1}`, i + 1));
  const p = projection(entries, meta);
  assertReplaced(await store.replace(p));
  return p.meta.queueId;
}

function assertReplaced(outcome: string): void {
  if (outcome !== 'replaced') throw new Error(`expected replaced, got ${outcome}`);
}

/** Serials of a snapshot in queue order, with their status, e.g. ['3w0', '1w1', '2c']. */
export async function order(store: QueueStore, queueId: string): Promise<string[]> {
  const snap = await store.snapshot(queueId);
  if (!snap) throw new Error('no projection');
  return snap.entries.map((e) => `${e.serial}${e.status[0]}${e.position ?? ''}`);
}
