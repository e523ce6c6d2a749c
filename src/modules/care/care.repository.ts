// Care records' queries. Sealed columns pass through as bytes: sealing and opening is the services' work.
import { type Insertable, sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type {
  MedicalHistoriesTable,
  PrescriptionsTable,
  RecordAttachmentsTable,
  VisitRecordsTable,
} from './care.table.js';

// Key checks -----------------------------------------------------------------------------------------------

export function listKeyChecks(db: Executor) {
  return db.selectFrom('careKeyChecks').select(['keyId', 'sealed']).execute();
}

export function insertKeyCheck(db: Executor, keyId: string, sealed: Buffer) {
  return db
    .insertInto('careKeyChecks')
    .values({ keyId, sealed })
    .onConflict((oc) => oc.column('keyId').doNothing())
    .execute();
}

export function deleteKeyChecksExcept(db: Executor, keyId: string) {
  return db.deleteFrom('careKeyChecks').where('keyId', '<>', keyId).execute();
}

// Profiles (read only: they are the accounts module's) -----------------------------------------------------

export function findProfile(db: Executor, id: string) {
  return db
    .selectFrom('patientProfiles')
    .select(['id', 'accountId', 'name'])
    .where('id', '=', id)
    .where('deletedAt', 'is', null)
    .executeTakeFirst();
}

export function profilesOfAccount(db: Executor, accountId: string) {
  return db
    .selectFrom('patientProfiles')
    .select(['id', 'name'])
    .where('accountId', '=', accountId)
    .where('deletedAt', 'is', null)
    .execute();
}

// Medical history ------------------------------------------------------------------------------------------

export function findHistory(db: Executor, profileId: string) {
  return db.selectFrom('medicalHistories').selectAll().where('profileId', '=', profileId).executeTakeFirst();
}

export function lockHistory(db: Executor, profileId: string) {
  return db
    .selectFrom('medicalHistories')
    .selectAll()
    .where('profileId', '=', profileId)
    .forUpdate()
    .executeTakeFirst();
}

export function upsertHistory(db: Executor, row: Insertable<MedicalHistoriesTable>) {
  return db
    .insertInto('medicalHistories')
    .values(row)
    .onConflict((oc) =>
      oc.column('profileId').doUpdateSet({
        keyId: row.keyId,
        body: row.body,
        updatedBy: row.updatedBy,
        updatedAt: sql<Date>`now()`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

// Visit records --------------------------------------------------------------------------------------------

export function insertRecord(db: Executor, row: Insertable<VisitRecordsTable>) {
  return db
    .insertInto('visitRecords')
    .values(row)
    .onConflict((oc) => oc.column('appointmentId').doNothing())
    .returningAll()
    .executeTakeFirst();
}

export function findRecord(db: Executor, id: string) {
  return db.selectFrom('visitRecords').selectAll().where('id', '=', id).executeTakeFirst();
}

export function lockRecord(db: Executor, id: string) {
  return db.selectFrom('visitRecords').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export function updateRecordBody(
  db: Executor,
  id: string,
  change: { keyId: string; body: Buffer; version: number },
) {
  return db
    .updateTable('visitRecords')
    .set({ ...change, updatedAt: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function insertRecordVersion(
  db: Executor,
  row: {
    recordId: string;
    version: number;
    keyId: string;
    body: Buffer;
    replacedBy: string;
    writtenAt: Date;
  },
) {
  return db.insertInto('visitRecordVersions').values(row).execute();
}

export function listRecordVersions(db: Executor, recordId: string) {
  return db
    .selectFrom('visitRecordVersions')
    .selectAll()
    .where('recordId', '=', recordId)
    .orderBy('version', 'desc')
    .execute();
}

/** A keyset page position: rows strictly older than (created_at, id) come next. */
export type Before = [createdAt: string, id: string] | null;

const olderThan = (before: NonNullable<Before>) =>
  sql<boolean>`(created_at, id) < (${new Date(before[0])}::timestamptz, ${before[1]}::uuid)`;

/** A profile's records, newest first. */
export function listRecords(db: Executor, q: { profileId: string; limit: number; before: Before }) {
  let query = db.selectFrom('visitRecords').selectAll().where('profileId', '=', q.profileId);
  if (q.before) query = query.where(olderThan(q.before));
  return query
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute();
}

// Prescriptions --------------------------------------------------------------------------------------------

export function insertPrescription(db: Executor, row: Insertable<PrescriptionsTable>) {
  return db.insertInto('prescriptions').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findPrescription(db: Executor, id: string) {
  return db.selectFrom('prescriptions').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listRecordPrescriptions(db: Executor, recordId: string) {
  return db
    .selectFrom('prescriptions')
    .selectAll()
    .where('recordId', '=', recordId)
    .orderBy('createdAt')
    .orderBy('id')
    .execute();
}

/** Prescriptions of some profiles, newest first. */
export function listProfilesPrescriptions(
  db: Executor,
  q: { profileIds: string[]; limit: number; before: Before },
) {
  let query = db.selectFrom('prescriptions').selectAll().where('profileId', 'in', q.profileIds);
  if (q.before) query = query.where(olderThan(q.before));
  return query
    .orderBy('createdAt', 'desc')
    .orderBy('id', 'desc')
    .limit(q.limit + 1)
    .execute();
}

// Attachments ----------------------------------------------------------------------------------------------

export function insertAttachment(db: Executor, row: Insertable<RecordAttachmentsTable>) {
  return db.insertInto('recordAttachments').values(row).returningAll().executeTakeFirstOrThrow();
}

export function findAttachment(db: Executor, id: string) {
  return db.selectFrom('recordAttachments').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listAttachments(db: Executor, recordId: string) {
  return db
    .selectFrom('recordAttachments')
    .selectAll()
    .where('recordId', '=', recordId)
    .orderBy('createdAt')
    .orderBy('id')
    .execute();
}

// Key rotation ---------------------------------------------------------------------------------------------

/** A sealed column and the columns that name its row (they make the value's associated data). */
export interface SealedColumn {
  table:
    | 'medical_histories'
    | 'visit_records'
    | 'visit_record_versions'
    | 'prescriptions'
    | 'record_attachments';
  column: 'body' | 'meta';
  idColumns: string[];
}

/** Up to `limit` rows still under another key, locked; rows another rotation holds are passed over. */
export async function lockStaleRows(db: Executor, spec: SealedColumn, currentKeyId: string, limit: number) {
  const ids = sql.join(spec.idColumns.map((c) => sql`${sql.ref(c)}::text`));
  const result = await sql<{ ids: string[]; sealed: Buffer }>`
    select array[${ids}] as ids, ${sql.ref(spec.column)} as sealed
    from ${sql.table(spec.table)}
    where key_id <> ${currentKeyId}
    limit ${limit}
    for update skip locked`.execute(db);
  return result.rows;
}

export async function resealRow(
  db: Executor,
  spec: SealedColumn,
  ids: string[],
  sealed: Buffer,
  keyId: string,
) {
  const where = sql.join(
    spec.idColumns.map((c, i) => sql`${sql.ref(c)}::text = ${ids[i]}`),
    sql` and `,
  );
  await sql`update ${sql.table(spec.table)} set ${sql.ref(spec.column)} = ${sealed}, key_id = ${keyId}
    where ${where}`.execute(db);
}

export function attachmentBlobKey(db: Executor, id: string) {
  return db.selectFrom('recordAttachments').select('blobKey').where('id', '=', id).executeTakeFirstOrThrow();
}

export function findRecordOfAppointment(db: Executor, appointmentId: string) {
  return db
    .selectFrom('visitRecords')
    .select('id')
    .where('appointmentId', '=', appointmentId)
    .executeTakeFirst();
}
