// Waitlist entries of full sessions and the offers that hold a freed place.
import type { Executor } from '../../db/database.js';

export async function heldOfferCount(db: Executor, queueId: string, now: Date, excludeEntryId?: string) {
  let query = db
    .selectFrom('waitlistEntries')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('queueId', '=', queueId)
    .where('status', '=', 'offered')
    .where('offerExpiresAt', '>', now);
  if (excludeEntryId) query = query.where('id', '!=', excludeEntryId);
  const row = await query.executeTakeFirstOrThrow();
  return Number(row.n);
}

export function insertWaitlistEntry(
  db: Executor,
  values: { queueId: string; profileId: string; accountId: string },
) {
  return db.insertInto('waitlistEntries').values(values).returningAll().executeTakeFirstOrThrow();
}

export function findWaitlistEntry(db: Executor, id: string) {
  return db.selectFrom('waitlistEntries').selectAll().where('id', '=', id).executeTakeFirst();
}

export function pendingWaitlistEntry(db: Executor, queueId: string, profileId: string) {
  return db
    .selectFrom('waitlistEntries')
    .select('id')
    .where('queueId', '=', queueId)
    .where('profileId', '=', profileId)
    .where('status', 'in', ['waiting', 'offered'])
    .executeTakeFirst();
}

export function listWaitlistEntries(db: Executor, accountId: string) {
  return db
    .selectFrom('waitlistEntries')
    .innerJoin('sessionDays', 'sessionDays.id', 'waitlistEntries.queueId')
    .selectAll('waitlistEntries')
    .select(['sessionDays.sessionId', 'sessionDays.date', 'sessionDays.doctorId'])
    .where('waitlistEntries.accountId', '=', accountId)
    .orderBy('waitlistEntries.createdAt', 'desc')
    .limit(100)
    .execute();
}

export function expireOffers(db: Executor, queueId: string, now: Date) {
  return db
    .updateTable('waitlistEntries')
    .set({ status: 'expired', updatedAt: now })
    .where('queueId', '=', queueId)
    .where('status', '=', 'offered')
    .where('offerExpiresAt', '<=', now)
    .execute();
}

export function firstWaiting(db: Executor, queueId: string) {
  return db
    .selectFrom('waitlistEntries')
    .selectAll()
    .where('queueId', '=', queueId)
    .where('status', '=', 'waiting')
    .orderBy('createdAt')
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}

export function setWaitlistStatus(
  db: Executor,
  id: string,
  values: {
    status: 'offered' | 'booked' | 'left' | 'expired';
    offeredAt?: Date;
    offerExpiresAt?: Date;
    appointmentId?: string;
  },
  now: Date,
) {
  return db
    .updateTable('waitlistEntries')
    .set({ ...values, updatedAt: now })
    .where('id', '=', id)
    .execute();
}

/** Queues with an offer whose hold has run out: the sweep passes those places on. */
export async function queuesWithLapsedOffers(db: Executor, now: Date, limit: number): Promise<string[]> {
  const rows = await db
    .selectFrom('waitlistEntries')
    .select('queueId')
    .distinct()
    .where('status', '=', 'offered')
    .where('offerExpiresAt', '<=', now)
    .limit(limit)
    .execute();
  return rows.map((r) => r.queueId);
}
