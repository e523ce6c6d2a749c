// Hospitals, catalogs and favorites: plain Kysely queries, no rules.
import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { HospitalsTable, SERVICE_KINDS } from './directory.table.js';

type ServiceKind = (typeof SERVICE_KINDS)[number];

// Hospitals ------------------------------------------------------------------------------------------------

const HOSPITAL_COLUMNS = [
  'id',
  'name',
  'city',
  'address',
  'phone',
  'timezone',
  'quietStart',
  'quietEnd',
  'currency',
  'code',
] as const;

export function findHospital(db: Executor, id: string) {
  return db
    .selectFrom('hospitals')
    .select(HOSPITAL_COLUMNS)
    .where('id', '=', id)
    .where('deletedAt', 'is', null)
    .executeTakeFirst();
}

export function listHospitals(
  db: Executor,
  filter: { city?: string; q?: string; after: [string, string] | null; limit: number },
) {
  let query = db.selectFrom('hospitals').select(HOSPITAL_COLUMNS).where('deletedAt', 'is', null);
  if (filter.city) query = query.where(sql<boolean>`lower(city) = lower(${filter.city})`);
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    query = query.where(sql<boolean>`(name %> ${filter.q} or name ilike ${like})`);
  }
  if (filter.after) {
    const [name, id] = filter.after;
    query = query.where(sql<boolean>`(name, id) > (${name}, ${id}::uuid)`);
  }
  return query
    .orderBy('name')
    .orderBy('id')
    .limit(filter.limit + 1)
    .execute();
}

type HospitalValues = Partial<Pick<HospitalsTable, 'name' | 'city' | 'timezone'>> & {
  address?: string;
  phone?: string | null;
  quietStart?: string;
  quietEnd?: string;
  currency?: string;
  code?: string;
};

export function insertHospital(
  db: Executor,
  values: HospitalValues & { name: string; city: string; timezone: string },
) {
  return db.insertInto('hospitals').values(values).returning(HOSPITAL_COLUMNS).executeTakeFirstOrThrow();
}

export function updateHospital(db: Executor, id: string, values: HospitalValues) {
  return db
    .updateTable('hospitals')
    .set({ ...values, updatedAt: sql<Date>`now()` })
    .where('id', '=', id)
    .where('deletedAt', 'is', null)
    .returning(HOSPITAL_COLUMNS)
    .executeTakeFirst();
}

export function lockHospital(db: Executor, id: string) {
  return db
    .selectFrom('hospitals')
    .select(['id', 'timezone'])
    .where('id', '=', id)
    .where('deletedAt', 'is', null)
    .forUpdate()
    .executeTakeFirst();
}

/** What still ties a hospital to the future: appointments not yet finished and sessions still running. */
export async function hospitalCommitments(db: Executor, id: string, localToday: string) {
  const { rows } = await sql<{ appointments: number; sessions: number }>`
    select
      (select count(*)::int from appointments a join session_days sd on sd.id = a.queue_id
        where sd.hospital_id = ${id}::uuid and a.date >= ${localToday}::date
          and a.status not in ('cancelled', 'completed', 'no_show')) as appointments,
      (select count(*)::int from sessions s
        where s.hospital_id = ${id}::uuid and s.deleted_at is null
          and (s.valid_to is null or s.valid_to >= ${localToday}::date)) as sessions`.execute(db);
  return rows[0];
}

export function softDeleteHospital(db: Executor, id: string, at: Date) {
  return db.updateTable('hospitals').set({ deletedAt: at, updatedAt: at }).where('id', '=', id).execute();
}

/** Verified doctors with a live session at this hospital. */
export async function hospitalDoctors(db: Executor, hospitalId: string) {
  const { rows } = await sql<{
    id: string;
    name: string;
    photoUrl: string | null;
    specializations: string[];
  }>`
    select d.id, d.name, d.photo_url,
      array(select sp.name::text from doctor_specializations ds join specializations sp on sp.id = ds.specialization_id
        where ds.doctor_id = d.id order by sp.name) as specializations
    from doctors d
    where d.verified_at is not null and exists (select 1 from sessions s
      where s.doctor_id = d.id and s.hospital_id = ${hospitalId}::uuid and s.deleted_at is null)
    order by d.name, d.id`.execute(db);
  return rows;
}

// Catalogs -------------------------------------------------------------------------------------------------

export type CatalogName = 'specializations' | 'qualifications' | 'services';

export function listCatalog(db: Executor, table: 'specializations' | 'qualifications') {
  return db.selectFrom(table).select(['id', 'name']).orderBy('name').orderBy('id').execute();
}

export function listServices(db: Executor) {
  return db
    .selectFrom('services')
    .select(['id', 'name', 'kind', 'durationMinutes', 'fee'])
    .orderBy('name')
    .orderBy('id')
    .execute();
}

export function insertCatalogItem(db: Executor, table: 'specializations' | 'qualifications', name: string) {
  return db.insertInto(table).values({ name }).returning(['id', 'name']).executeTakeFirstOrThrow();
}

export function updateCatalogItem(
  db: Executor,
  table: 'specializations' | 'qualifications',
  id: string,
  name: string,
) {
  return db
    .updateTable(table)
    .set({ name })
    .where('id', '=', id)
    .returning(['id', 'name'])
    .executeTakeFirst();
}

export function insertService(
  db: Executor,
  values: { name: string; kind?: ServiceKind; durationMinutes?: number; fee?: number },
) {
  return db
    .insertInto('services')
    .values(values)
    .returning(['id', 'name', 'kind', 'durationMinutes', 'fee'])
    .executeTakeFirstOrThrow();
}

export function updateService(
  db: Executor,
  id: string,
  values: { name?: string; kind?: ServiceKind; durationMinutes?: number; fee?: number },
) {
  return db
    .updateTable('services')
    .set(values)
    .where('id', '=', id)
    .returning(['id', 'name', 'kind', 'durationMinutes', 'fee'])
    .executeTakeFirst();
}

export async function catalogNameTaken(db: Executor, table: CatalogName, name: string, exceptId?: string) {
  let query = db.selectFrom(table).select('id').where(sql<boolean>`name = ${name}::citext`);
  if (exceptId) query = query.where('id', '!=', exceptId);
  return (await query.executeTakeFirst()) !== undefined;
}

/** Doctors whose profiles show this catalog entry (their cached profiles must go when it changes). */
export async function doctorsUsing(db: Executor, table: CatalogName, id: string): Promise<string[]> {
  const rows =
    table === 'specializations'
      ? await db
          .selectFrom('doctorSpecializations')
          .select('doctorId')
          .where('specializationId', '=', id)
          .execute()
      : table === 'qualifications'
        ? await db
            .selectFrom('doctorQualifications')
            .select('doctorId')
            .where('qualificationId', '=', id)
            .execute()
        : await db.selectFrom('doctorServices').select('doctorId').where('serviceId', '=', id).execute();
  return [...new Set(rows.map((r) => r.doctorId))];
}

export async function serviceInUse(db: Executor, id: string): Promise<boolean> {
  const row = await db
    .selectFrom('appointments')
    .select('id')
    .where('serviceId', '=', id)
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

export function deleteCatalogItem(db: Executor, table: CatalogName, id: string) {
  return db.deleteFrom(table).where('id', '=', id).executeTakeFirst();
}

// Favorites ------------------------------------------------------------------------------------------------

/** `at` comes from the app clock in whole milliseconds, so it round-trips exactly through a page cursor. */
export function addFavorite(db: Executor, userId: string, doctorId: string, at: Date) {
  return db
    .insertInto('favorites')
    .values({ userId, doctorId, createdAt: at })
    .onConflict((oc) => oc.columns(['userId', 'doctorId']).doNothing())
    .execute();
}

export function removeFavorite(db: Executor, userId: string, doctorId: string) {
  return db.deleteFrom('favorites').where('userId', '=', userId).where('doctorId', '=', doctorId).execute();
}

export function listFavorites(db: Executor, userId: string, after: [string, string] | null, limit: number) {
  let query = db
    .selectFrom('favorites as f')
    .innerJoin('doctors as d', 'd.id', 'f.doctorId')
    .select(['f.doctorId', 'f.createdAt'])
    .where('f.userId', '=', userId)
    .where('d.verifiedAt', 'is not', null);
  if (after) {
    query = query.where(
      sql<boolean>`(f.created_at, f.doctor_id) < (${after[0]}::timestamptz, ${after[1]}::uuid)`,
    );
  }
  return query
    .orderBy('f.createdAt', 'desc')
    .orderBy('f.doctorId', 'desc')
    .limit(limit + 1)
    .execute();
}
