// The state machine of an appointment on its day (design §2) as one table, and the single-entry steps an
// operation runs inside its transaction: each checks the table, writes the row and returns the plan (event
// type, reason, event data, projection ops) that queue.service.ts records, stages and broadcasts.
import type { Transaction } from 'kysely';
import type { Clock } from '../../clock.js';
import type { Database } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { QueueEventType } from '../../events.js';
import type { Appointment, AppointmentStatus } from '../appointments/appointments.table.js';
import type { LiveQueue, StagedChange } from './queue.live.js';
import { recallPositionKey } from './queue.projection.js';
import { firstWaiting, recentConsultSeconds, updateAppointment, updateQueue } from './queue.repository.js';
import type { ReasonCode } from './queue.schema.js';
import { CONSULT_SAMPLES, consultSeconds, etaAt, type QueueOp, rollingAverage } from './queue.store.js';
import type { QueueStatus, SessionDay } from './queue.table.js';

export const ENTRY_ACTIONS = ['check-in', 'call', 'complete', 'skip', 'no-show', 'recall'] as const;
export type EntryAction = (typeof ENTRY_ACTIONS)[number];

const WAITING = ['booked', 'confirmed', 'checked_in'] as const satisfies readonly AppointmentStatus[];

/** Which appointment statuses each entry action starts from, and the words of its refusal. */
export const ENTRY_TRANSITIONS: Record<EntryAction, { from: readonly AppointmentStatus[]; verb: string }> = {
  'check-in': { from: ['booked', 'confirmed'], verb: 'check in' },
  call: { from: [...WAITING, 'skipped'], verb: 'call' },
  complete: { from: ['called'], verb: 'complete' },
  skip: { from: ['called'], verb: 'skip' },
  'no-show': { from: [...WAITING, 'called', 'skipped'], verb: 'mark as no-show' },
  recall: { from: ['skipped'], verb: 'recall' },
};

/** Which queue statuses pause and resume start from (close is refused only by the open-day check). */
export const QUEUE_TRANSITIONS: Record<'pause' | 'resume', readonly QueueStatus[]> = {
  pause: ['open'],
  resume: ['paused'],
};

/** What an operation did, handed to the transaction that records, stages and broadcasts it. */
export interface OperationPlan {
  type: QueueEventType;
  appointment?: Pick<Appointment, 'id' | 'serial'>;
  status: string;
  ops: QueueOp[];
  reason?: ReasonCode | null;
  data?: unknown;
  notice?: StagedChange['notice'];
  /** A close that turned the remaining entries into no-shows. */
  closedNoShow?: boolean;
}

/** What the steps need besides the transaction. */
export interface StepDeps {
  clock: Clock;
  live: LiveQueue;
}

type Trx = Transaction<Database>;

export function invalid(from: string, action: string): AppError {
  return new AppError('INVALID_TRANSITION', `Cannot ${action} an entry that is ${from}`, { from });
}

export function assertEntryTransition(action: EntryAction, from: AppointmentStatus): void {
  const rule = ENTRY_TRANSITIONS[action];
  if (!rule.from.includes(from)) throw invalid(from, rule.verb);
}

export function assertQueueTransition(action: 'pause' | 'resume', from: QueueStatus): void {
  if (!QUEUE_TRANSITIONS[action].includes(from)) throw invalid(from, action);
}

/** One entry action on a locked appointment row of a locked queue. */
export async function entryStep(
  deps: StepDeps,
  trx: Trx,
  queue: SessionDay,
  row: Appointment,
  action: EntryAction,
  reason: ReasonCode | undefined,
): Promise<OperationPlan> {
  assertEntryTransition(action, row.status);
  switch (action) {
    case 'check-in':
      return checkInStep(deps, trx, queue, row);
    case 'call': {
      const head = await firstWaiting(trx, queue.id);
      const outOfOrder = head?.id !== row.id;
      if (outOfOrder && !reason)
        throw new AppError('VALIDATION_FAILED', 'Calling out of order needs a reason', { field: 'reason' });
      return callStep(deps, trx, queue, row, outOfOrder ? (reason ?? null) : null, outOfOrder);
    }
    case 'complete':
      return completeStep(deps, trx, queue, row);
    case 'skip':
      await updateAppointment(trx, row.id, { status: 'skipped', skippedAt: deps.clock.now() });
      return {
        type: 'skipped',
        appointment: row,
        status: 'skipped',
        ops: [{ op: 'skip', appointmentId: row.id }],
      };
    case 'no-show':
      await updateAppointment(trx, row.id, { status: 'no_show', noShowAt: deps.clock.now() });
      return {
        type: 'no_show',
        appointment: row,
        status: 'no_show',
        ops: [{ op: 'remove', appointmentId: row.id }],
      };
    case 'recall':
      return recallStep(deps, trx, queue, row, reason);
  }
}

/** Calls an entry: it becomes `called` and the queue's now-serving serial. */
export async function callStep(
  deps: StepDeps,
  trx: Trx,
  queue: SessionDay,
  row: Appointment,
  reason: ReasonCode | null,
  outOfOrder: boolean,
): Promise<OperationPlan> {
  const now = deps.clock.now();
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
    ops: [
      outOfOrder
        ? { op: 'call', appointmentId: row.id, outOfOrder: true }
        : { op: 'call', appointmentId: row.id },
    ],
  };
}

async function completeStep(
  deps: StepDeps,
  trx: Trx,
  queue: SessionDay,
  row: Appointment,
): Promise<OperationPlan> {
  const now = deps.clock.now();
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

/** Check-in by staff or by the patient. */
export async function checkInStep(
  deps: StepDeps,
  trx: Trx,
  queue: SessionDay,
  row: Appointment,
): Promise<OperationPlan> {
  assertEntryTransition('check-in', row.status);
  const now = deps.clock.now();
  await updateAppointment(trx, row.id, { status: 'checked_in', checkedInAt: now });
  // The ETA shown at check-in, kept so reports can compare it with the real call time.
  const view = await deps.live.peekPosition(queue.id, row.id).catch(() => null);
  const eta = view ? etaAt(view, now) : null;
  return {
    type: 'checked_in',
    appointment: row,
    status: 'checked_in',
    data: { etaAt: eta?.toISOString() ?? null, position: view?.entry?.position ?? null },
    ops: [{ op: 'stage', appointmentId: row.id, stage: 'checked_in' }],
  };
}

async function recallStep(
  deps: StepDeps,
  trx: Trx,
  queue: SessionDay,
  row: Appointment,
  reason: ReasonCode | undefined,
): Promise<OperationPlan> {
  if (!reason) throw new AppError('VALIDATION_FAILED', 'A recall needs a reason', { field: 'reason' });
  const positionKey = await recallPositionKey(trx, queue.id, row.id);
  await updateAppointment(trx, row.id, {
    status: 'checked_in',
    positionKey,
    checkedInAt: row.checkedInAt ?? deps.clock.now(),
  });
  return {
    type: 'recalled',
    appointment: row,
    status: 'checked_in',
    reason,
    ops: [
      { op: 'recall', appointmentId: row.id, positionKey },
      { op: 'stage', appointmentId: row.id, stage: 'checked_in' },
    ],
  };
}
