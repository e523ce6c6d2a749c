// Doctor queries: the public search (trigram name match, filters, keyset pages over computed sort keys) and
// the pieces of a profile.
import { type RawBuilder, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { PREPARED } from '../../db/prepared-pool.js';
import { UUID_PATTERN } from '../../lib/schema.js';
import { timeOffCovers } from '../schedule/schedule.queries.js';
import type { DoctorSort } from './directory.schema.js';

/** Sort key for doctors with nothing to rank by (unrated, no free day): after everyone else. */
const LAST = 1e9;

export interface DoctorSearch {
  q?: string;
  city?: string;
  specialization?: string;
  qualification?: string;
  hospitalId?: string;
  serviceId?: string;
  /** A local date, or an ISO weekday. */
  availableOn?: { date: string } | { weekday: number };
  sort: DoctorSort;
  /** Today's UTC date, for weekday filters that are not tied to a hospital's zone. */
  today: string;
  after: [number | string, string, string] | null;
  limit: number;
  /** Restrict to these doctors (favorites). */
  onlyVerified: boolean;
}

/** How alike a query word and a name word must be (pg_trgm similarity): "rahmn" ~ "rahman" is 0.44. */
const WORD_SIMILARITY = 0.4;

/** The query's words as the name-word trigger splits names (see migration 0002), at most six. */
export function searchTokens(q: string): string[] {
  const words = q
    .toLowerCase()
    .split(/[\s.,;:()/'"-]+/)
    .filter((w) => w.length >= 2);
  return [...new Set(words)].slice(0, 6);
}

function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

function filters(s: DoctorSearch): RawBuilder<unknown>[] {
  const where: RawBuilder<unknown>[] = [];
  if (s.onlyVerified) where.push(sql`d.verified_at is not null`);
  // The city filter reads doctor_cities (kept by triggers on sessions and hospitals, see migration 0005): one
  // primary-key probe per candidate.
  const inCity = (id: RawBuilder<unknown>) =>
    sql`exists (select 1 from doctor_cities c where c.city = lower(${s.city}) and c.doctor_id = ${id})`;
  if (s.q) {
    // Every word of the query must match a word of the name: similar (typos) or containing it (partial
    // words). Matching runs on the small vocabulary of distinct name words, then fans out to doctors by
    // index, so the cost does not grow with the number of doctors. Or the licence number matches exactly.
    const tokens = searchTokens(s.q);
    const byName = tokens.length
      ? sql` union (${sql.join(
          tokens.map(
            (t) => sql`select dw.doctor_id from doctor_name_words dw where dw.word in (
              select sw.word from search_words sw
              where (sw.word % ${t} and similarity(sw.word, ${t}) >= ${WORD_SIMILARITY})
                or sw.word like ${likePattern(t)})`,
          ),
          sql` intersect `,
        )})`
      : sql``;
    const matches = sql`(select l.id from doctors l where l.license_no = ${s.q}::citext ${byName}) m(id)`;
    // The candidate ids as one array (not an IN or an OR): the planner cannot estimate how few a union of
    // word matches yields and would scan every doctor; an `= any(array)` drives doctors by its primary key.
    // A city is checked inside it, before any doctor row is read.
    where.push(
      sql`d.id = any(array(select m.id from ${matches}${s.city ? sql` where ${inCity(sql`m.id`)}` : sql``}))`,
    );
  } else if (s.city) {
    where.push(inCity(sql`d.id`));
  }
  if (s.hospitalId) {
    where.push(sql`exists (select 1 from sessions s join hospitals h on h.id = s.hospital_id
      where s.doctor_id = d.id and s.deleted_at is null and h.deleted_at is null
        and s.hospital_id = ${s.hospitalId}::uuid)`);
  }
  if (s.specialization) {
    where.push(
      UUID_PATTERN.test(s.specialization)
        ? sql`exists (select 1 from doctor_specializations ds
            where ds.doctor_id = d.id and ds.specialization_id = ${s.specialization}::uuid)`
        : sql`exists (select 1 from doctor_specializations ds join specializations sp on sp.id = ds.specialization_id
            where ds.doctor_id = d.id and sp.name = ${s.specialization}::citext)`,
    );
  }
  if (s.qualification) {
    where.push(
      UUID_PATTERN.test(s.qualification)
        ? sql`exists (select 1 from doctor_qualifications dq
            where dq.doctor_id = d.id and dq.qualification_id = ${s.qualification}::uuid)`
        : sql`exists (select 1 from doctor_qualifications dq join qualifications ql on ql.id = dq.qualification_id
            where dq.doctor_id = d.id and ql.name = ${s.qualification}::citext)`,
    );
  }
  if (s.serviceId) {
    where.push(sql`exists (select 1 from doctor_services dsv
      where dsv.doctor_id = d.id and dsv.service_id = ${s.serviceId}::uuid)`);
  }
  const on = s.availableOn;
  if (on && 'date' in on) {
    where.push(sql`exists (select 1 from sessions s join hospitals h on h.id = s.hospital_id
      where s.doctor_id = d.id and s.deleted_at is null and h.deleted_at is null
        and s.weekday = extract(isodow from ${on.date}::date)
        and (s.valid_from is null or s.valid_from <= ${on.date}::date)
        and (s.valid_to is null or s.valid_to >= ${on.date}::date) and s.confirmed_at is not null
        and not exists (select 1 from session_days sd
          where sd.session_id = s.id and sd.date = ${on.date}::date and sd.status = 'cancelled')
        and not ${timeOffCovers(sql.ref('s.doctor_id'), sql.ref('s.hospital_id'), sql`${on.date}::date`)})`);
  } else if (on) {
    where.push(sql`exists (select 1 from sessions s join hospitals h on h.id = s.hospital_id
      where s.doctor_id = d.id and s.deleted_at is null and h.deleted_at is null
        and s.weekday = ${on.weekday} and (s.valid_to is null or s.valid_to >= ${s.today}::date)
        and s.confirmed_at is not null)`);
  }
  return where;
}

/** The doctor's stored earliest bookable day (doctor_soonest, kept by soonest.repository.ts). */
const SOONEST_DAY = sql<string | null>`(select ds.day from doctor_soonest ds where ds.doctor_id = d.id)`;

// The popular and rating keys are indexed word for word (migration 0008): keep them in step with it.
const RATING_KEY = sql`coalesce(-(d.rating_sum::float8 / nullif(d.rating_count, 0)), 1000000000::float8)`;
const POPULAR_KEY = sql`(-(d.recent_visits * 10 + coalesce(d.rating_sum::float8 / nullif(d.rating_count, 0), 0::float8)))`;

/** k1 ascending then name then id: every order is expressed as an ascending key so one keyset works for all. */
function sortKey(s: DoctorSearch): { k1: RawBuilder<unknown>; type: 'text' | 'float8' } {
  switch (s.sort) {
    case 'name':
      return { k1: sql`d.name`, type: 'text' };
    case 'rating':
      return { k1: RATING_KEY, type: 'float8' };
    case 'popular':
      // Recent visits dominate (x10), the average rating (0–5) breaks ties between equal visit counts.
      return { k1: POPULAR_KEY, type: 'float8' };
    case 'soonest':
      return {
        k1: sql`coalesce((${SOONEST_DAY} - date '2000-01-01')::float8, ${LAST}::float8)`,
        type: 'float8',
      };
    default:
      return {
        k1: s.q
          ? sql`-(case when d.license_no = ${s.q}::citext then 2 else word_similarity(${s.q}, d.name) end)::float8`
          : sql`d.name`,
        type: s.q ? 'float8' : 'text',
      };
  }
}

export interface DoctorCard {
  id: string;
  name: string;
  photoUrl: string | null;
  experienceYears: number | null;
  ratingSum: number;
  ratingCount: number;
  visitCount: number;
  specializations: string[];
  cities: string[];
}

/** The list-card columns of doctor `d`, all on its row (visit_count and the two arrays are kept by triggers). */
const cardColumns = sql`d.name, d.photo_url, d.experience_years, d.rating_sum, d.rating_count, d.visit_count,
  d.specialization_names as specializations, d.city_names as cities`;

export interface SearchRow extends DoctorCard {
  k1: number | string;
  k2: string;
  soonest: string | null;
  recentVisits: number | null;
}

/** One page (limit + 1 rows, to know whether another follows) of matching doctors with their card fields. */
export function searchQuery(s: DoctorSearch) {
  const where = filters(s);
  const { k1, type } = sortKey(s);
  const extra =
    s.sort === 'soonest'
      ? sql`, ${SOONEST_DAY}::text as soonest`
      : s.sort === 'popular'
        ? sql`, d.recent_visits`
        : sql``;
  const after = s.after
    ? sql`where (x.k1, x.k2, x.id) > (${String(s.after[0])}::${sql.raw(type)}, ${s.after[1]}::text, ${s.after[2]}::uuid)`
    : sql``;
  return sql<SearchRow>`${sql.raw(PREPARED)}select p.*, ${cardColumns}
    from (
      select * from (
        select d.id, ${k1} as k1, d.name as k2 ${extra}
        from doctors d
        ${where.length ? sql`where ${sql.join(where, sql` and `)}` : sql``}
      ) x ${after}
      order by x.k1, x.k2, x.id
      limit ${s.limit + 1}
    ) p join doctors d on d.id = p.id
    order by p.k1, p.k2, p.id`;
}

export async function searchDoctors(db: Executor, s: DoctorSearch): Promise<SearchRow[]> {
  const { rows } = await searchQuery(s).execute(db);
  return rows;
}

/**
 * Recounts doctors.recent_visits as completed visits in the 90 days before `now` (the triggers of migration 0008
 * only ever add new completions); returns how many doctors changed.
 */
export async function refreshRecentVisits(db: Executor, now: Date): Promise<number> {
  const result = await sql`update doctors d set recent_visits = coalesce(c.n, 0)
    from doctors d2 left join (
      select a.doctor_id, count(*)::int as n from appointments a
      where a.status = 'completed' and a.date >= (${now}::timestamptz - interval '91 days')::date
        and a.completed_at >= ${now}::timestamptz - interval '90 days'
      group by a.doctor_id) c on c.doctor_id = d2.id
    where d.id = d2.id and d.recent_visits <> coalesce(c.n, 0)`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

/** The list-card fields of these doctors, in no particular order. */
export async function doctorCards(db: Executor, ids: string[]): Promise<Map<string, DoctorCard>> {
  if (ids.length === 0) return new Map();
  const { rows } = await sql<DoctorCard>`select d.id, ${cardColumns}
    from doctors d where d.id = any(${ids}::uuid[])`.execute(db);
  return new Map(rows.map((r) => [r.id, r]));
}

export function findDoctor(db: Executor, id: string) {
  return db.selectFrom('doctors').selectAll().where('id', '=', id).executeTakeFirst();
}

export function doctorOfAppointment(db: Executor, appointmentId: string) {
  return db.selectFrom('appointments').select('doctorId').where('id', '=', appointmentId).executeTakeFirst();
}

export function findDoctorByLicense(db: Executor, licenseNo: string) {
  return db.selectFrom('doctors').select('id').where('licenseNo', '=', licenseNo).executeTakeFirst();
}

export function findDoctorOfUser(db: Executor, userId: string) {
  return db.selectFrom('doctors').select('id').where('userId', '=', userId).executeTakeFirst();
}

export async function insertDoctor(
  db: Executor,
  values: { userId: string; name: string; licenseNo: string | null },
): Promise<void> {
  await db.insertInto('doctors').values(values).execute();
}

export async function renameDoctorOfUser(db: Executor, userId: string, name: string): Promise<void> {
  await db
    .updateTable('doctors')
    .set({ name, updatedAt: sql<Date>`now()` })
    .where('userId', '=', userId)
    .execute();
}

export function doctorSpecializations(db: Executor, doctorId: string) {
  return db
    .selectFrom('doctorSpecializations as ds')
    .innerJoin('specializations as sp', 'sp.id', 'ds.specializationId')
    .select(['sp.id', 'sp.name'])
    .where('ds.doctorId', '=', doctorId)
    .orderBy('sp.name')
    .execute();
}

export function doctorQualifications(db: Executor, doctorId: string) {
  return db
    .selectFrom('doctorQualifications as dq')
    .innerJoin('qualifications as q', 'q.id', 'dq.qualificationId')
    .select(['dq.qualificationId', 'q.name', 'dq.institute', 'dq.year'])
    .where('dq.doctorId', '=', doctorId)
    .orderBy('dq.year', (o) => o.desc().nullsLast())
    .orderBy('q.name')
    .execute();
}

export function doctorServices(db: Executor, doctorId: string) {
  return db
    .selectFrom('doctorServices as dsv')
    .innerJoin('services as sv', 'sv.id', 'dsv.serviceId')
    .select(['sv.id', 'sv.name', 'sv.kind', 'sv.durationMinutes', 'sv.fee'])
    .where('dsv.doctorId', '=', doctorId)
    .orderBy('sv.name')
    .execute();
}

/** Hospitals where the doctor holds a live session. */
export function doctorHospitals(db: Executor, doctorId: string) {
  return db
    .selectFrom('hospitals as h')
    .select(['h.id', 'h.name', 'h.city', 'h.timezone'])
    .where('h.deletedAt', 'is', null)
    .where((eb) =>
      eb.exists(
        eb
          .selectFrom('sessions as s')
          .select('s.id')
          .whereRef('s.hospitalId', '=', 'h.id')
          .where('s.doctorId', '=', doctorId)
          .where('s.deletedAt', 'is', null),
      ),
    )
    .orderBy('h.name')
    .execute();
}

export function updateDoctor(
  db: Executor,
  id: string,
  changes: {
    name?: string;
    bio?: string;
    licenseNo?: string | null;
    photoUrl?: string | null;
    experienceYears?: number | null;
    verifiedAt?: Date | null;
  },
) {
  return db
    .updateTable('doctors')
    .set({ ...changes, updatedAt: sql<Date>`now()` })
    .where('id', '=', id)
    .returning(['id', 'photoUrl'])
    .executeTakeFirst();
}

export async function replaceSpecializations(db: Executor, doctorId: string, ids: string[]) {
  await db.deleteFrom('doctorSpecializations').where('doctorId', '=', doctorId).execute();
  if (ids.length)
    await db
      .insertInto('doctorSpecializations')
      .values(ids.map((specializationId) => ({ doctorId, specializationId })))
      .execute();
}

export async function replaceServices(db: Executor, doctorId: string, ids: string[]) {
  await db.deleteFrom('doctorServices').where('doctorId', '=', doctorId).execute();
  if (ids.length)
    await db
      .insertInto('doctorServices')
      .values(ids.map((serviceId) => ({ doctorId, serviceId })))
      .execute();
}

export async function replaceQualifications(
  db: Executor,
  doctorId: string,
  entries: { qualificationId: string; institute?: string; year?: number | null }[],
) {
  await db.deleteFrom('doctorQualifications').where('doctorId', '=', doctorId).execute();
  if (entries.length)
    await db
      .insertInto('doctorQualifications')
      .values(
        entries.map((e) => ({
          doctorId,
          qualificationId: e.qualificationId,
          institute: e.institute ?? '',
          year: e.year ?? null,
        })),
      )
      .execute();
}

/** Which of these ids exist in a catalog table (to name the bad one in a 400 rather than hit a foreign key). */
export async function existingIds(
  db: Executor,
  table: 'specializations' | 'qualifications' | 'services',
  ids: string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.selectFrom(table).select('id').where('id', 'in', ids).execute();
  return new Set(rows.map((r) => r.id));
}
