// Kysely queries of the notification outbox: enqueue, cancel, the drain's claim and settle under a lease,
// delivery reports, listings and gauges. No rules here. Message contexts are in
// notifications.contexts.repository.ts, preferences and opt-outs in notifications.preferences.repository.ts,
// the reminder scan's queries in notifications.reminders.repository.ts.
import { type Insertable, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { NotificationOutboxTable, OutboxRow, OutboxStatus } from './notifications.table.js';

export type NewOutboxRow = Insertable<NotificationOutboxTable>;

/** Inserts rows whose dedupe key is new; returns how many were new. */
export async function insertOutbox(db: Executor, rows: NewOutboxRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await db
    .insertInto('notificationOutbox')
    .values(rows)
    .onConflict((oc) => oc.column('dedupeKey').doNothing())
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0);
}

/** Cancels the appointment's messages that have not left yet (optionally only some kinds). */
export async function cancelPending(
  db: Executor,
  appointmentId: string,
  reason: string,
  now: Date,
  kinds?: string[],
): Promise<number> {
  let query = db
    .updateTable('notificationOutbox')
    .set({ status: 'cancelled', lastError: reason, updatedAt: now })
    .where('appointmentId', '=', appointmentId)
    .where('status', '=', 'pending');
  if (kinds?.length) query = query.where('kind', 'in', kinds);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Claims up to `limit` due rows for this sender: pending ones whose time has come, and 'sending' ones whose
 * lease ran out (their sender died). SKIP LOCKED lets every instance claim at once without overlap.
 */
export async function claimDue(
  db: Executor,
  now: Date,
  leaseUntil: Date,
  limit: number,
): Promise<OutboxRow[]> {
  const due = db
    .selectFrom('notificationOutbox')
    .select('id')
    .where((eb) =>
      eb.or([
        eb.and([eb('status', '=', 'pending'), eb('sendAfter', '<=', now)]),
        eb.and([eb('status', '=', 'sending'), eb('leaseUntil', '<', now)]),
      ]),
    )
    .orderBy('sendAfter')
    .limit(limit)
    .forUpdate()
    .skipLocked();
  return db
    .updateTable('notificationOutbox')
    .set({ status: 'sending', leaseUntil, attempts: sql`attempts + 1`, updatedAt: now })
    .where('id', 'in', due)
    .returningAll()
    .execute();
}

/** Settles a claimed row, but only while this sender still holds its lease. */
export async function settle(
  db: Executor,
  id: string,
  lease: Date,
  values: {
    status: OutboxStatus;
    providerId?: string | null;
    lastError?: string | null;
    sendAfter?: Date;
    sentAt?: Date;
    attempts?: number;
  },
  now: Date,
): Promise<boolean> {
  const result = await db
    .updateTable('notificationOutbox')
    .set({ ...values, leaseUntil: null, updatedAt: now })
    .where('id', '=', id)
    .where('status', '=', 'sending')
    .where('leaseUntil', '=', lease)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Gives claimed rows back unsent, refunding the attempt their claim charged, so the next claim (on any
 * instance) takes them at once. Only rows this sender still holds under `lease` are touched.
 */
export async function releaseClaims(db: Executor, ids: string[], lease: Date, now: Date): Promise<number> {
  if (ids.length === 0) return 0;
  const result = await db
    .updateTable('notificationOutbox')
    .set({ status: 'pending', leaseUntil: null, attempts: sql`attempts - 1`, updatedAt: now })
    .where('id', 'in', ids)
    .where('status', '=', 'sending')
    .where('leaseUntil', '=', lease)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/** Applies a provider delivery report; returns false when no message has that provider id. */
export async function applyDeliveryStatus(
  db: Executor,
  providerId: string,
  status: 'sent' | 'delivered' | 'failed',
  error: string | null,
  now: Date,
): Promise<boolean> {
  const row = await db
    .selectFrom('notificationOutbox')
    .select(['id', 'status'])
    .where('providerId', '=', providerId)
    .executeTakeFirst();
  if (!row) return false;
  // Reports can arrive out of order; a delivered message stays delivered.
  if (row.status === 'delivered' || status === 'sent') return true;
  await db
    .updateTable('notificationOutbox')
    .set({
      status,
      lastError: error,
      ...(status === 'delivered' ? { deliveredAt: now } : {}),
      updatedAt: now,
    })
    .where('id', '=', row.id)
    .execute();
  return true;
}

export interface OutboxFilter {
  userId?: string;
  hospitalId?: string;
  status?: OutboxStatus;
  kind?: string;
  appointmentId?: string;
  /** A local date: rows whose send time falls on it in the hospital's zone (UTC when there is none). */
  date?: string;
  limit: number;
  after?: { createdAt: string; id: string } | null;
}

export function listOutbox(db: Executor, f: OutboxFilter) {
  let query = db
    .selectFrom('notificationOutbox as n')
    .leftJoin('hospitals as h', 'h.id', 'n.hospitalId')
    .select([
      'n.id',
      'n.kind',
      'n.channel',
      'n.status',
      'n.recipient',
      'n.appointmentId',
      'n.sendAfter',
      'n.sentAt',
      'n.attempts',
      'n.lastError',
      'n.createdAt',
    ])
    .orderBy('n.createdAt', 'desc')
    .orderBy('n.id', 'desc')
    .limit(f.limit + 1);
  if (f.userId) query = query.where('n.userId', '=', f.userId);
  if (f.hospitalId) query = query.where('n.hospitalId', '=', f.hospitalId);
  if (f.status) query = query.where('n.status', '=', f.status);
  if (f.kind) query = query.where('n.kind', '=', f.kind);
  if (f.appointmentId) query = query.where('n.appointmentId', '=', f.appointmentId);
  if (f.date)
    query = query.where(
      sql`(n.send_after at time zone coalesce(h.timezone, 'UTC'))::date`,
      '=',
      sql`${f.date}::date`,
    );
  const after = f.after;
  if (after)
    query = query.where((eb) =>
      eb.or([
        eb('n.createdAt', '<', new Date(after.createdAt)),
        eb.and([eb('n.createdAt', '=', new Date(after.createdAt)), eb('n.id', '<', after.id)]),
      ]),
    );
  return query.execute();
}

export async function outboxGauges(db: Executor, now: Date) {
  const { rows } = await sql<{ queued: number; oldest: Date | null }>`
    select count(*)::int as queued, min(send_after) as oldest
      from notification_outbox
     where status in ('pending', 'sending') and send_after <= ${now}::timestamptz
  `.execute(db);
  const row = rows[0];
  return { queued: Number(row?.queued ?? 0), oldest: row?.oldest ? new Date(row.oldest) : null };
}
