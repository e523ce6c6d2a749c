// Kysely queries of the patient lookup: profiles joined to their accounts (read only: accounts owns the rows).
import { type RawBuilder, sql } from 'kysely';
import type { Executor } from '../../db/database.js';

export type PatientMatchRow = Awaited<ReturnType<typeof searchPatients>>[number];

export interface PatientFilter {
  /** Lower-cased name fragment; matches the profile's or the account holder's name. */
  name?: string;
  /** Lower-cased e-mail prefix of the account. */
  emailPrefix?: string;
  /** E.164 number of the profile or of the account. */
  phone?: string;
  /** Digits a stored number contains (a partial or unparsable number). */
  phoneDigits?: string;
  /**
   * Staff lookups: only profiles with an appointment (of any status, past or future) at this hospital, except
   * an exact match of a whole e-mail address or phone number (to book a patient new to it). Null: a staff
   * account with no hospital, which finds exact matches only. Absent: no scope (admins).
   */
  seenAt?: string | null;
  after?: { name: string; id: string };
  limit: number;
}

/** `%` and `_` are wildcards in LIKE; a search for "50%" means the characters. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

// The indexed expressions of migration 0007, kept to the letter (constants inline, never parameters): a
// trigram index serves a `like '%…%'` only on the expression it was built on.
type Alias = 'pp' | 'uu';
const lowerName = (table: Alias) => sql<string>`lower(${sql.ref(`${table}.name`)})`;
const phoneDigitsOf = (table: Alias) =>
  sql<string>`regexp_replace(coalesce(${sql.ref(`${table}.phone`)}, ''), '[^0-9]', '', 'g')`;

/**
 * Ids of the profiles whose own value or whose account's value matches the pattern (or equals the value), as a
 * union of two index scans: an OR across the joined tables can only be checked row by row over the whole join.
 */
function profilesMatching(
  db: Executor,
  expression: (table: Alias) => RawBuilder<string>,
  pattern: string,
  operator: 'like' | '=' = 'like',
) {
  return db
    .selectFrom('patientProfiles as pp')
    .select('pp.id')
    .where(expression('pp'), operator, pattern)
    .union(
      db
        .selectFrom('patientProfiles as pp')
        .innerJoin('users as uu', 'uu.id', 'pp.accountId')
        .select('pp.id')
        .where(expression('uu'), operator, pattern)
        // Lets the join use patient_profiles_account_idx (partial on live profiles).
        .where('pp.deletedAt', 'is', null),
    );
}

/**
 * The profile `p` has or had an appointment at the hospital, checked per matching profile: its appointments
 * through appointments_profile_idx, each one's queue by primary key. Scalar subqueries on purpose: as an EXISTS
 * or a join the planner may read every session day or appointment of the hospital, which grows with the
 * hospital while the matches stay a handful.
 */
function seenAtHospital(hospitalId: string | null) {
  if (hospitalId === null) return sql<boolean>`false`;
  return sql<boolean>`coalesce((select true from appointments sa where sa.profile_id = p.id
    and (select sd.hospital_id from session_days sd where sd.id = sa.queue_id) = ${hospitalId}::uuid
    limit 1), false)`;
}

export function searchPatients(db: Executor, filter: PatientFilter) {
  return patientSearchQuery(db, filter).execute();
}

/** The lookup as a query builder, so a plan check can EXPLAIN exactly what the desk runs. */
export function patientSearchQuery(db: Executor, filter: PatientFilter) {
  let query = db
    .selectFrom('patientProfiles as p')
    .innerJoin('users as u', 'u.id', 'p.accountId')
    .select([
      'p.id as profileId',
      'p.name',
      'p.phone as profilePhone',
      'p.dateOfBirth',
      'p.relation',
      'p.isSelf',
      'u.id as accountId',
      'u.name as accountName',
      'u.email as accountEmail',
      'u.phone as accountPhone',
    ])
    .where('p.deletedAt', 'is', null)
    .where('u.disabledAt', 'is', null)
    .where('u.role', '=', 'patient');
  const { name, emailPrefix, phone, phoneDigits, after, seenAt } = filter;
  // A whole phone number is an exact match by itself; every other form is scoped for staff.
  if (seenAt !== undefined && phone === undefined) {
    const seen = seenAtHospital(seenAt);
    query =
      emailPrefix === undefined
        ? query.where(seen)
        : query.where(sql<boolean>`(u.email = ${emailPrefix}::citext or ${seen})`);
  }
  if (name !== undefined) {
    query = query.where('p.id', 'in', profilesMatching(db, lowerName, `%${escapeLike(name)}%`));
  }
  if (emailPrefix !== undefined) {
    query = query.where(sql`lower(u.email::text)`, 'like', `${escapeLike(emailPrefix)}%`);
  }
  if (phone !== undefined) {
    query = query.where(
      'p.id',
      'in',
      profilesMatching(db, (table) => sql.ref<string>(`${table}.phone`), phone, '='),
    );
  }
  if (phoneDigits !== undefined) {
    query = query.where('p.id', 'in', profilesMatching(db, phoneDigitsOf, `%${escapeLike(phoneDigits)}%`));
  }
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('p.name', '>', after.name),
        eb.and([eb('p.name', '=', after.name), eb('p.id', '>', after.id)]),
      ]),
    );
  }
  return query.orderBy('p.name').orderBy('p.id').limit(filter.limit);
}
