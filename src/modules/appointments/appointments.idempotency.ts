// The Idempotency-Key cleanup job: keys older than the replay window are deleted in short batches, so a
// backlog never holds many row locks at once. Every instance may run it; a deleted row is simply gone.
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { deleteIdempotencyKeysBefore } from './appointments.idempotency.repository.js';

/** How long a keyed booking can be retried and get its first answer back. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 3600_000;

export interface PurgeOptions {
  /** @default IDEMPOTENCY_RETENTION_MS */
  retentionMs?: number;
  /** Rows per delete statement. @default 1000 */
  batchSize?: number;
  /** Statements per run; a larger backlog is finished by the next runs. @default 100 */
  maxBatches?: number;
}

export interface PurgeResult {
  status: 'idle' | 'purged';
  deleted: number;
  batches: number;
}

export async function purgeIdempotencyKeys(
  deps: { db: DB; clock: Clock },
  options: PurgeOptions = {},
): Promise<PurgeResult> {
  const batchSize = options.batchSize ?? 1000;
  const maxBatches = options.maxBatches ?? 100;
  const cutoff = new Date(deps.clock.now().getTime() - (options.retentionMs ?? IDEMPOTENCY_RETENTION_MS));
  let deleted = 0;
  let batches = 0;
  while (batches < maxBatches) {
    const n = await deleteIdempotencyKeysBefore(deps.db, cutoff, batchSize);
    batches++;
    deleted += n;
    if (n < batchSize) break;
  }
  return { status: deleted > 0 ? 'purged' : 'idle', deleted, batches };
}
