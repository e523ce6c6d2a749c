import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { QueueEventType } from '../../events.js';

/** Locks a queue (session day) row for the rest of the transaction: every queue mutation starts here. */
export function lockQueue(trx: Executor, queueId: string) {
  return trx.selectFrom('sessionDays').selectAll().where('id', '=', queueId).forUpdate().executeTakeFirst();
}

export interface QueueEventInput {
  queueId: string;
  type: QueueEventType;
  appointmentId?: string | null;
  serial?: number | null;
  actorId?: string | null;
  reason?: string | null;
  data?: unknown;
}

/** Bumps the queue's version and appends the matching queue_events row; returns the new version. */
export async function recordQueueEvent(trx: Executor, event: QueueEventInput): Promise<number> {
  const { version } = await trx
    .updateTable('sessionDays')
    .set({ version: sql`version + 1`, updatedAt: sql`now()` })
    .where('id', '=', event.queueId)
    .returning('version')
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('queueEvents')
    .values({
      queueId: event.queueId,
      version,
      type: event.type,
      appointmentId: event.appointmentId ?? null,
      serial: event.serial ?? null,
      actorId: event.actorId ?? null,
      reason: event.reason ?? null,
      data: event.data === undefined ? null : JSON.stringify(event.data),
    })
    .execute();
  return version;
}
