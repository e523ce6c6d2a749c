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
