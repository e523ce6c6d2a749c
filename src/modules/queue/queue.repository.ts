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

/**
 * Takes the next unused serial of a queue whose row the caller has locked (lockQueue). Serials picked
 * explicitly ahead of next_serial are skipped, and a serial is never handed out twice, even after a cancel.
 */
export async function takeNextSerial(trx: Executor, queueId: string): Promise<number> {
  const { nextSerial } = await trx
    .selectFrom('sessionDays')
    .select('nextSerial')
    .where('id', '=', queueId)
    .executeTakeFirstOrThrow();
  const taken = await trx
    .selectFrom('appointments')
    .select('serial')
    .where('queueId', '=', queueId)
    .where('serial', '>=', nextSerial)
    .execute();
  const used = new Set(taken.map((r) => r.serial));
  let serial = nextSerial;
  while (used.has(serial)) serial++;
  await trx
    .updateTable('sessionDays')
    .set({ nextSerial: serial + 1 })
    .where('id', '=', queueId)
    .execute();
  return serial;
}
