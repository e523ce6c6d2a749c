// The day ledger's one commit point: every change to a session day ends here, in its transaction. It bumps the
// version and appends the queue event (unless the change's own statement did), then emits `queue.changed` —
// the only emit of it in the code base — carrying the ops the live projection applies after commit. The
// in-transaction handlers of that event write the messages the change makes due.
//
// The ledger is this folder: day.record.ts (this), day.ledger.ts (queue operations: call, complete, skip,
// no-show, recall, check-in, walk-in, pause, resume, close), day.bookings.ts (places: book, confirm, cancel,
// reschedule, schedule changes), day.rules.ts (the pure rules), day.repository.ts (its SQL).
import type { Clock } from '../../clock.js';
import type { Executor } from '../../db/database.js';
import type { Emit, EventMap, QueueEventType } from '../../events.js';
import type { Role } from '../accounts/accounts.table.js';
import type { Appointment } from '../appointments/appointments.table.js';
import type { LiveQueue } from '../queue/queue.live.js';
import type { OperationResult } from '../queue/queue.schema.js';
import type { QueueOp } from '../queue/queue.store.js';
import * as repo from './day.repository.js';

type Live = NonNullable<EventMap['queue.changed']['live']>;

export interface DayActor {
  id: string | null;
  role?: Role | null;
}

export interface LedgerDeps {
  clock: Clock;
  /** Projection reads that never rebuild (safe inside a transaction): the ETAs a change tells patients. */
  live: Pick<LiveQueue, 'peekPosition' | 'peekMeta'>;
}

/** What one change did, recorded by recordChange. */
export interface Change {
  type: QueueEventType;
  appointment?: Pick<Appointment, 'id' | 'serial'>;
  /** The status the API answers with. */
  status: string;
  ops: QueueOp[];
  reason?: string | null;
  data?: unknown;
  notice?: Live['notice'];
  /** The appointment's status after the change, for entries that left the line. */
  appointmentStatus?: string;
  /** Set when the change's statement already bumped the version and appended the event (booking). */
  version?: number;
  room?: 'filled' | 'freed';
  /** The projection cannot be patched (the day's shape changed): rebuild it from Postgres after commit. */
  rebuild?: boolean;
}

/** Records one change of a locked day and emits it. */
export async function recordChange(
  trx: Executor,
  emit: Emit,
  day: { id: string; hospitalId: string },
  actor: DayActor,
  c: Change,
): Promise<OperationResult> {
  const version =
    c.version ??
    (await repo.recordQueueEvent(trx, {
      queueId: day.id,
      type: c.type,
      appointmentId: c.appointment?.id ?? null,
      serial: c.appointment?.serial ?? null,
      actorId: actor.id,
      reason: c.reason ?? null,
      data: c.data,
    }));
  await emit('queue.changed', {
    queueId: day.id,
    version,
    type: c.type,
    ...(c.appointment ? { appointmentId: c.appointment.id, serial: c.appointment.serial } : {}),
    ...(c.room ? { room: c.room } : {}),
    ...(c.rebuild
      ? {}
      : {
          live: {
            ops: c.ops,
            hospitalId: day.hospitalId,
            ...(c.appointmentStatus ? { appointmentStatus: c.appointmentStatus } : {}),
            ...(c.notice ? { notice: c.notice } : {}),
          },
        }),
  });
  return {
    queueId: day.id,
    version,
    type: c.type,
    appointmentId: c.appointment?.id ?? null,
    serial: c.appointment?.serial ?? null,
    status: c.status,
  } satisfies OperationResult;
}
