// What the record lists of billing and feedback share: whose records a caller reads, the checks of a list's
// query (an ordered date range, a well-formed cursor) and the page cut from a keyset read of limit + 1 rows.
import { AppError, forbidden } from '../errors.js';
import type { Principal } from '../plugins/auth.js';
import { decodeCursor, encodeCursor } from './schema.js';

/** An account's own records, a hospital's, or all (admins). */
export type RecordScope = { accountId: string } | { hospitalId: string } | Record<string, never>;

const NO_HOSPITAL = '00000000-0000-0000-0000-000000000000';

/**
 * Admins read all, staff their hospital's (none without one; naming another hospital is 403), everyone else
 * their own.
 */
export function recordScope(principal: Principal, hospitalId?: string): RecordScope {
  if (principal.role === 'staff' && hospitalId && hospitalId !== principal.hospitalId)
    throw forbidden("Staff read their own hospital's records only");
  if (principal.role === 'admin') return {};
  if (principal.role === 'staff') return { hospitalId: principal.hospitalId ?? NO_HOSPITAL };
  return { accountId: principal.id };
}

/** The keyset after which a list continues, from its query; 400 for a disordered range or a bad cursor. */
export function listStart(query: { from?: string; to?: string; cursor?: string }): [string, string] | null {
  if (query.from && query.to && query.from > query.to)
    throw new AppError('VALIDATION_FAILED', 'from must not be after to', [
      { field: 'querystring.from', message: 'must not be after to' },
    ]);
  const after = decodeCursor<[string, string]>(query.cursor, 2);
  if (query.cursor && !after) throw new AppError('VALIDATION_FAILED', 'cursor is invalid');
  return after;
}

/** The first `limit` of rows read `limit + 1` at a time, by (instant, id), and the cursor after them. */
export function keysetPage<T extends { id: string }>(
  rows: T[],
  limit: number,
  instantOf: (row: T) => Date | string,
) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    page,
    nextCursor:
      rows.length > limit && last ? encodeCursor([new Date(instantOf(last)).toISOString(), last.id]) : null,
  };
}
