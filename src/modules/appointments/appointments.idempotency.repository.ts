// Idempotency-Key rows: each holds the final answer of one keyed booking until it ages out of the replay window.
import type { Executor } from '../../db/database.js';

export function findIdempotency(db: Executor, userId: string, key: string) {
  return db
    .selectFrom('idempotencyKeys')
    .selectAll()
    .where('userId', '=', userId)
    .where('key', '=', key)
    .executeTakeFirst();
}

/** Claims a key inside the booking transaction; a concurrent claimant waits for it and then gets nothing. */
export async function claimIdempotency(db: Executor, userId: string, key: string, requestHash: string) {
  const row = await db
    .insertInto('idempotencyKeys')
    .values({ userId, key, requestHash, statusCode: 0, response: JSON.stringify(null) })
    .onConflict((oc) => oc.columns(['userId', 'key']).doNothing())
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

export function storeIdempotentResult(
  db: Executor,
  userId: string,
  key: string,
  statusCode: number,
  response: unknown,
) {
  return db
    .updateTable('idempotencyKeys')
    .set({ statusCode, response: JSON.stringify(response) })
    .where('userId', '=', userId)
    .where('key', '=', key)
    .execute();
}

/**
 * Deletes up to `limit` keys created before `cutoff`, oldest first, and says how many went. Rows another
 * instance is deleting at the same moment are skipped rather than waited for.
 */
export async function deleteIdempotencyKeysBefore(
  db: Executor,
  cutoff: Date,
  limit: number,
): Promise<number> {
  const result = await db
    .deleteFrom('idempotencyKeys')
    .where((eb) =>
      eb(
        eb.refTuple('userId', 'key'),
        'in',
        eb
          .selectFrom('idempotencyKeys as old')
          .select(['old.userId', 'old.key'])
          .where('old.createdAt', '<', cutoff)
          .orderBy('old.createdAt')
          .limit(limit)
          .forUpdate()
          .skipLocked()
          .$asTuple('userId', 'key'),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
