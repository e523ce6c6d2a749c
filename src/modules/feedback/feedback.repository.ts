// Feedback and its single-use links: plain Kysely queries, no rules.
import { type Insertable, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { RecordScope } from '../../lib/listing.js';
import type { FeedbackTable } from './feedback.table.js';

/** A visit as feedback needs it: its status and completion, its hospital and doctor, and whose it is. */
export function findVisit(db: Executor, appointmentId: string) {
  return db
    .selectFrom('appointments as a')
    .innerJoin('sessionDays as q', 'q.id', 'a.queueId')
    .innerJoin('hospitals as h', 'h.id', 'q.hospitalId')
    .innerJoin('doctors as d', 'd.id', 'a.doctorId')
    .leftJoin('patientProfiles as pp', 'pp.id', 'a.profileId')
    .select([
      'a.id',
      'a.status',
      'a.completedAt',
      'a.date',
      'a.doctorId',
      'q.hospitalId',
      'h.name as hospitalName',
      'd.name as doctorName',
      'pp.accountId',
    ])
    .where('a.id', '=', appointmentId)
    .executeTakeFirst();
}

export type Visit = NonNullable<Awaited<ReturnType<typeof findVisit>>>;

/** The visit's link; false when it already has one (a link is made once per visit). */
export async function insertLink(
  trx: Executor,
  link: { appointmentId: string; tokenHash: string; expiresAt: Date },
): Promise<boolean> {
  const row = await trx
    .insertInto('feedbackLinks')
    .values(link)
    .onConflict((oc) => oc.column('appointmentId').doNothing())
    .returning('appointmentId')
    .executeTakeFirst();
  return row !== undefined;
}

export function lockLink(trx: Executor, tokenHash: string) {
  return trx
    .selectFrom('feedbackLinks')
    .selectAll()
    .where('tokenHash', '=', tokenHash)
    .forUpdate()
    .executeTakeFirst();
}

export function findLink(db: Executor, tokenHash: string) {
  return db.selectFrom('feedbackLinks').selectAll().where('tokenHash', '=', tokenHash).executeTakeFirst();
}

/** Marks the visit's link used (also when the feedback came through the app: the link then stops working). */
export function useLink(trx: Executor, appointmentId: string, at: Date) {
  return trx
    .updateTable('feedbackLinks')
    .set({ usedAt: at })
    .where('appointmentId', '=', appointmentId)
    .where('usedAt', 'is', null)
    .execute();
}

/** The new feedback's id, or undefined when the visit already has feedback. */
export async function insertFeedback(trx: Executor, values: Insertable<FeedbackTable>) {
  const row = await trx
    .insertInto('feedback')
    .values(values)
    .onConflict((oc) => oc.column('appointmentId').doNothing())
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

function feedbackQuery(db: Executor) {
  return db
    .selectFrom('feedback as f')
    .innerJoin('appointments as a', 'a.id', 'f.appointmentId')
    .innerJoin('doctors as d', 'd.id', 'f.doctorId')
    .leftJoin('patientProfiles as pp', 'pp.id', 'a.profileId')
    .selectAll('f')
    .select([
      'a.date as visitDate',
      'd.name as doctorName',
      sql<string | null>`coalesce(pp.name, a.walk_in_name)`.as('patientName'),
    ]);
}

export type FeedbackRow = NonNullable<Awaited<ReturnType<typeof findFeedback>>>;

export function findFeedback(db: Executor, id: string) {
  return feedbackQuery(db).where('f.id', '=', id).executeTakeFirst();
}

export function listFeedback(
  db: Executor,
  scope: RecordScope,
  filter: {
    hospitalId?: string;
    doctorId?: string;
    from?: string;
    to?: string;
    after: [string, string] | null;
    limit: number;
  },
) {
  let query = feedbackQuery(db);
  if ('accountId' in scope) query = query.where('f.accountId', '=', scope.accountId);
  if ('hospitalId' in scope) query = query.where('f.hospitalId', '=', scope.hospitalId);
  if (filter.hospitalId) query = query.where('f.hospitalId', '=', filter.hospitalId);
  if (filter.doctorId) query = query.where('f.doctorId', '=', filter.doctorId);
  if (filter.from) query = query.where('a.date', '>=', filter.from);
  if (filter.to) query = query.where('a.date', '<=', filter.to);
  if (filter.after) {
    const [at, id] = filter.after;
    query = query.where(sql<boolean>`(f.created_at, f.id) < (${at}::timestamptz, ${id}::uuid)`);
  }
  return query
    .orderBy('f.createdAt', 'desc')
    .orderBy('f.id', 'desc')
    .limit(filter.limit + 1)
    .execute();
}
