// Reviews and the rating aggregate on doctors. The aggregate is only ever moved by relative updates inside
// the transaction that changes a review, so concurrent reviews cannot lose each other's counts.
import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** The appointment a review is about, with who may write it: the booking account or the profile's owner. */
export function findAppointmentForReview(db: Executor, appointmentId: string) {
  return db
    .selectFrom('appointments as a')
    .leftJoin('patientProfiles as p', 'p.id', 'a.profileId')
    .select(['a.id', 'a.doctorId', 'a.status', 'a.bookedBy', 'p.accountId'])
    .where('a.id', '=', appointmentId)
    .executeTakeFirst();
}

export function reviewOfAppointment(db: Executor, appointmentId: string) {
  return db.selectFrom('reviews').select('id').where('appointmentId', '=', appointmentId).executeTakeFirst();
}

export function insertReview(
  db: Executor,
  values: {
    appointmentId: string;
    doctorId: string;
    authorId: string;
    rating: number;
    comment: string;
    at: Date;
  },
) {
  const { at, ...rest } = values;
  return db
    .insertInto('reviews')
    .values({ ...rest, createdAt: at })
    .onConflict((oc) => oc.column('appointmentId').doNothing())
    .returning('id')
    .executeTakeFirst();
}

export function adjustRating(db: Executor, doctorId: string, sumDelta: number, countDelta: number) {
  return db
    .updateTable('doctors')
    .set({
      ratingSum: sql`rating_sum + ${sumDelta}::int`,
      ratingCount: sql`rating_count + ${countDelta}::int`,
    })
    .where('id', '=', doctorId)
    .execute();
}

/** Flips a review's visibility; returns the row only when it actually changed (so the aggregate moves once). */
export function setReviewHidden(db: Executor, id: string, hidden: boolean, at: Date) {
  return db
    .updateTable('reviews')
    .set({ hiddenAt: hidden ? at : null })
    .where('id', '=', id)
    .where('hiddenAt', hidden ? 'is' : 'is not', null)
    .returning(['id', 'doctorId', 'rating'])
    .executeTakeFirst();
}

/** Reviews with their author's name (shown shortened by the service). */
function selectReviews(db: Executor) {
  return db
    .selectFrom('reviews as r')
    .innerJoin('users as u', 'u.id', 'r.authorId')
    .select([
      'r.id',
      'r.doctorId',
      'r.appointmentId',
      'r.rating',
      'r.comment',
      'r.hiddenAt',
      'r.createdAt',
      'u.name as authorName',
    ]);
}

export function findReview(db: Executor, id: string) {
  return selectReviews(db).where('r.id', '=', id).executeTakeFirst();
}

export function listReviews(
  db: Executor,
  doctorId: string,
  options: { includeHidden: boolean; after: [string, string] | null; limit: number },
) {
  let query = selectReviews(db).where('r.doctorId', '=', doctorId);
  if (!options.includeHidden) query = query.where('r.hiddenAt', 'is', null);
  if (options.after) {
    const [at, id] = options.after;
    query = query.where(sql<boolean>`(r.created_at, r.id) < (${at}::timestamptz, ${id}::uuid)`);
  }
  return query
    .orderBy('r.createdAt', 'desc')
    .orderBy('r.id', 'desc')
    .limit(options.limit + 1)
    .execute();
}
