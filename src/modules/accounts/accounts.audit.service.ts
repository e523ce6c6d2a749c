// The audit log as other modules use it: an entry written in the caller's transaction, and the entries about
// some targets (e.g. a patient's profiles) with who acted, for the person those targets belong to.
import type { Executor } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import * as repo from './accounts.repository.js';
import type { AccountsDeps } from './accounts.shared.js';

export type AuditEntry = Parameters<typeof repo.insertAudit>[1];

export class AccountAudit {
  constructor(private readonly deps: AccountsDeps) {}

  /** Writes one entry; pass the open transaction so the entry exists exactly when the change does. */
  record(entry: AuditEntry, db: Executor = this.deps.db) {
    return repo.insertAudit(db, entry);
  }

  /** Entries about these targets whose action starts with `actionPrefix`, newest first. */
  async about(
    filter: { targetType: string; targetIds: string[]; actionPrefix: string },
    page: { limit?: number; cursor?: string },
  ) {
    const limit = page.limit ?? 20;
    const before = decodeCursor<[number]>(page.cursor, 1);
    if (page.cursor && !(before && Number.isSafeInteger(before[0]))) {
      throw new AppError('VALIDATION_FAILED', 'cursor is not valid', [
        { field: 'querystring.cursor', message: 'is not valid' },
      ]);
    }
    const rows =
      filter.targetIds.length === 0
        ? []
        : await repo.listAuditAbout(this.deps.db, { ...filter, beforeId: before?.[0], limit });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null };
  }
}
