// Kysely queries of the patient lookup: profiles joined to their accounts, and on-the-spot accounts.
import { sql } from 'kysely';
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
  after?: { name: string; id: string };
  limit: number;
}

/** `%` and `_` are wildcards in LIKE; a search for "50%" means the characters. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export function searchPatients(db: Executor, filter: PatientFilter) {
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
  const { name, emailPrefix, phone, phoneDigits, after } = filter;
  if (name !== undefined) {
    const pattern = `%${escapeLike(name)}%`;
    query = query.where((eb) =>
      eb.or([eb(sql`lower(p.name)`, 'like', pattern), eb(sql`lower(u.name)`, 'like', pattern)]),
    );
  }
  if (emailPrefix !== undefined) {
    query = query.where(sql`lower(u.email::text)`, 'like', `${escapeLike(emailPrefix)}%`);
  }
  if (phone !== undefined) {
    query = query.where((eb) => eb.or([eb('p.phone', '=', phone), eb('u.phone', '=', phone)]));
  }
  if (phoneDigits !== undefined) {
    const pattern = `%${escapeLike(phoneDigits)}%`;
    query = query.where((eb) =>
      eb.or([
        eb(sql`regexp_replace(coalesce(p.phone, ''), '[^0-9]', '', 'g')`, 'like', pattern),
        eb(sql`regexp_replace(coalesce(u.phone, ''), '[^0-9]', '', 'g')`, 'like', pattern),
      ]),
    );
  }
  if (after) {
    query = query.where((eb) =>
      eb.or([
        eb('p.name', '>', after.name),
        eb.and([eb('p.name', '=', after.name), eb('p.id', '>', after.id)]),
      ]),
    );
  }
  return query.orderBy('p.name').orderBy('p.id').limit(filter.limit).execute();
}

export function emailTaken(db: Executor, email: string) {
  return db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
}

export function insertPatientAccount(
  db: Executor,
  values: { email: string; passwordHash: string; name: string; phone: string | null },
) {
  return db
    .insertInto('users')
    .values({ ...values, role: 'patient' })
    .returning(['id', 'name', 'email', 'phone'])
    .executeTakeFirstOrThrow();
}

export function insertSelfProfile(
  db: Executor,
  values: {
    accountId: string;
    name: string;
    phone: string | null;
    dateOfBirth: string | null;
    sex: 'female' | 'male' | 'other' | null;
  },
) {
  return db
    .insertInto('patientProfiles')
    .values({ ...values, isSelf: true, relation: 'self' })
    .returning(['id', 'name', 'phone', 'dateOfBirth', 'relation'])
    .executeTakeFirstOrThrow();
}

/** Messages to an account without a real e-mail address go by SMS only. */
export function preferSmsOnly(db: Executor, userId: string) {
  return db
    .insertInto('notificationPreferences')
    .values({ userId, channels: ['sms'] })
    .onConflict((oc) => oc.column('userId').doUpdateSet({ channels: ['sms'] }))
    .execute();
}

export function insertAudit(
  db: Executor,
  entry: { actorId: string; action: string; targetType: string; targetId: string; ip?: string },
) {
  return db
    .insertInto('auditLog')
    .values({ ...entry, details: null })
    .execute();
}
