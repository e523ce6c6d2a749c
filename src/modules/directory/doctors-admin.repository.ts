// Admin doctor list: all doctors (verified or not) with their account's contact details, newest first.
import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

export interface AdminDoctorFilter {
  verified?: boolean;
  q?: string;
  /** The last row of the previous page: its created_at to the microsecond (UTC, ISO 8601) and id. */
  after: [string, string] | null;
  limit: number;
}

/** One row past `limit` comes back when there is a next page. */
export function listDoctorsForAdmin(db: Executor, filter: AdminDoctorFilter) {
  let query = db
    .selectFrom('doctors as d')
    .innerJoin('users as u', 'u.id', 'd.userId')
    .select([
      'd.id',
      'd.userId',
      'd.name',
      'u.email',
      'u.phone',
      'd.licenseNo',
      'd.experienceYears',
      'd.photoUrl',
      'd.createdAt',
      'd.verifiedAt',
      // A JS Date (and so an ISO string from one) drops the microseconds; the cursor needs them all.
      sql<string>`to_char(d.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as('createdKey'),
    ])
    .orderBy('d.createdAt', 'desc')
    .orderBy('d.id', 'desc')
    .limit(filter.limit + 1);
  if (filter.verified !== undefined) {
    query = query.where('d.verifiedAt', filter.verified ? 'is not' : 'is', null);
  }
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, '\\$&')}%`;
    query = query.where((eb) =>
      eb.or([eb('d.name', 'ilike', like), eb('u.email', 'ilike', like), eb('d.licenseNo', 'ilike', like)]),
    );
  }
  if (filter.after) {
    const [at, id] = filter.after;
    query = query.where(sql<boolean>`(d.created_at, d.id) < (${at}::timestamptz, ${id}::uuid)`);
  }
  return query.execute();
}

export function specializationsOf(db: Executor, doctorIds: string[]) {
  return db
    .selectFrom('doctorSpecializations as ds')
    .innerJoin('specializations as sp', 'sp.id', 'ds.specializationId')
    .select(['ds.doctorId', 'sp.id', 'sp.name'])
    .where('ds.doctorId', 'in', doctorIds)
    .orderBy('sp.name')
    .execute();
}

export function qualificationsOf(db: Executor, doctorIds: string[]) {
  return db
    .selectFrom('doctorQualifications as dq')
    .innerJoin('qualifications as q', 'q.id', 'dq.qualificationId')
    .select(['dq.doctorId', 'dq.qualificationId', 'q.name', 'dq.institute', 'dq.year'])
    .where('dq.doctorId', 'in', doctorIds)
    .orderBy('dq.year', (o) => o.desc().nullsLast())
    .orderBy('q.name')
    .execute();
}
