import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import type { NewUser, Role, UserUpdate } from './accounts.table.js';

export async function findPrincipal(db: Executor, id: string) {
  const row = await db
    .selectFrom('users')
    .leftJoin('doctors', 'doctors.userId', 'users.id')
    .leftJoin('patientProfiles', (join) =>
      join.onRef('patientProfiles.accountId', '=', 'users.id').on('patientProfiles.isSelf', '=', true),
    )
    .select([
      'users.id',
      'users.role',
      'users.name',
      'users.hospitalId',
      'users.disabledAt',
      'doctors.id as doctorId',
      'patientProfiles.id as profileId',
    ])
    .where('users.id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id,
    role: row.role,
    name: row.name,
    hospitalId: row.hospitalId,
    doctorId: row.doctorId,
    profileId: row.profileId,
    disabled: row.disabledAt !== null,
  };
}

const USER_COLUMNS = [
  'users.id',
  'users.email',
  'users.name',
  'users.phone',
  'users.role',
  'users.hospitalId',
  'users.disabledAt',
] as const;

export function findUserById(db: Executor, id: string) {
  return db
    .selectFrom('users')
    .leftJoin('doctors', 'doctors.userId', 'users.id')
    .leftJoin('patientProfiles', (join) =>
      join.onRef('patientProfiles.accountId', '=', 'users.id').on('patientProfiles.isSelf', '=', true),
    )
    .select([
      ...USER_COLUMNS,
      'users.passwordHash',
      'doctors.id as doctorId',
      'patientProfiles.id as profileId',
    ])
    .where('users.id', '=', id)
    .executeTakeFirst();
}

export function findUserByEmail(db: Executor, email: string) {
  return db
    .selectFrom('users')
    .select(['id', 'email', 'name', 'passwordHash', 'disabledAt'])
    .where('email', '=', email)
    .executeTakeFirst();
}

export function insertUser(db: Executor, user: NewUser) {
  return db.insertInto('users').values(user).returning('id').executeTakeFirstOrThrow();
}

export function updateUser(db: Executor, id: string, changes: UserUpdate) {
  return db
    .updateTable('users')
    .set({ ...changes, updatedAt: sql<Date>`now()` })
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function emailTaken(db: Executor, email: string): Promise<boolean> {
  const row = await db.selectFrom('users').select('id').where('email', '=', email).executeTakeFirst();
  return row !== undefined;
}

export function listUsers(
  db: Executor,
  filter: { role?: Role; q?: string; afterId?: string; limit: number },
) {
  let query = db
    .selectFrom('users')
    .leftJoin('doctors', 'doctors.userId', 'users.id')
    .select([...USER_COLUMNS, 'users.createdAt', 'doctors.id as doctorId'])
    .orderBy('users.createdAt', 'desc')
    .orderBy('users.id', 'desc')
    .limit(filter.limit + 1);
  if (filter.role) query = query.where('users.role', '=', filter.role);
  if (filter.q) {
    const like = `%${filter.q.replace(/[\\%_]/g, '\\$&')}%`;
    query = query.where((eb) => eb.or([eb('users.name', 'ilike', like), eb('users.email', 'ilike', like)]));
  }
  if (filter.afterId) {
    // Keyset on the row itself: timestamps carry microseconds that a JS Date (and so a cursor) would lose.
    query = query.where(
      sql<boolean>`(users.created_at, users.id) < (select c.created_at, c.id from users c where c.id = ${filter.afterId})`,
    );
  }
  return query.execute();
}

// Refresh tokens -----------------------------------------------------------------------------------------

export function insertRefreshToken(
  db: Executor,
  token: { userId: string; familyId: string; tokenHash: string; expiresAt: Date },
) {
  return db.insertInto('refreshTokens').values(token).execute();
}

/** Locks the token row so two refreshes racing with one token cannot both rotate it. */
export function lockRefreshToken(db: Executor, tokenHash: string) {
  return db
    .selectFrom('refreshTokens')
    .selectAll()
    .where('tokenHash', '=', tokenHash)
    .forUpdate()
    .executeTakeFirst();
}

export function markRefreshTokenUsed(db: Executor, id: string, at: Date) {
  return db.updateTable('refreshTokens').set({ usedAt: at }).where('id', '=', id).execute();
}

export function revokeFamily(db: Executor, familyId: string, at: Date) {
  return db
    .updateTable('refreshTokens')
    .set({ revokedAt: at })
    .where('familyId', '=', familyId)
    .where('revokedAt', 'is', null)
    .execute();
}

export function revokeUserTokens(db: Executor, userId: string, at: Date) {
  return db
    .updateTable('refreshTokens')
    .set({ revokedAt: at })
    .where('userId', '=', userId)
    .where('revokedAt', 'is', null)
    .execute();
}

/** The accounts whose own phone this is, at most `limit` (an SMS reset needs exactly one). */
export function findUsersByPhone(db: Executor, phone: string, limit = 2) {
  return db
    .selectFrom('users')
    .select(['id', 'email', 'name', 'phone', 'disabledAt'])
    .where('phone', '=', phone)
    .limit(limit)
    .execute();
}

// Password resets ----------------------------------------------------------------------------------------

export function insertPasswordReset(
  db: Executor,
  reset: { userId: string; channel: 'email' | 'sms'; secretHash: string; expiresAt: Date; createdAt: Date },
) {
  return db.insertInto('passwordResets').values(reset).returning('id').executeTakeFirstOrThrow();
}

export async function countRecentResets(db: Executor, userId: string, since: Date): Promise<number> {
  const row = await db
    .selectFrom('passwordResets')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('userId', '=', userId)
    .where('createdAt', '>', since)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Ends every unused reset of the account (a newer request replaces them; a completed reset ends them all). */
export function closeResets(db: Executor, userId: string, at: Date, channel?: 'email' | 'sms') {
  let query = db
    .updateTable('passwordResets')
    .set({ usedAt: at })
    .where('userId', '=', userId)
    .where('usedAt', 'is', null);
  if (channel) query = query.where('channel', '=', channel);
  return query.execute();
}

/** An e-mailed reset by its token's hash, locked: two confirmations racing with one link cannot both use it. */
export function lockEmailReset(db: Executor, secretHash: string) {
  return db
    .selectFrom('passwordResets')
    .selectAll()
    .where('channel', '=', 'email')
    .where('secretHash', '=', secretHash)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * The account's open SMS reset (a newer request closes the older ones), locked, so guesses at its code are
 * counted one after another.
 */
export function lockOpenSmsReset(db: Executor, userId: string) {
  return db
    .selectFrom('passwordResets')
    .selectAll()
    .where('channel', '=', 'sms')
    .where('userId', '=', userId)
    .where('usedAt', 'is', null)
    .orderBy('createdAt', 'desc')
    .limit(1)
    .forUpdate()
    .executeTakeFirst();
}

export function recordResetAttempt(db: Executor, id: string, attempts: number, closeAt: Date | null) {
  return db
    .updateTable('passwordResets')
    .set({ attempts, ...(closeAt ? { usedAt: closeAt } : {}) })
    .where('id', '=', id)
    .execute();
}

// Profiles -----------------------------------------------------------------------------------------------

export function insertProfile(
  db: Executor,
  profile: {
    accountId: string;
    isSelf?: boolean;
    name: string;
    relation?: 'self' | 'child' | 'parent' | 'spouse' | 'sibling' | 'other';
    dateOfBirth?: string | null;
    sex?: 'female' | 'male' | 'other' | null;
    phone?: string | null;
  },
) {
  return db.insertInto('patientProfiles').values(profile).returningAll().executeTakeFirstOrThrow();
}

export function listDependents(db: Executor, accountId: string) {
  return db
    .selectFrom('patientProfiles')
    .selectAll()
    .where('accountId', '=', accountId)
    .where('isSelf', '=', false)
    .where('deletedAt', 'is', null)
    .orderBy('createdAt')
    .execute();
}

export function findProfile(db: Executor, id: string) {
  return db
    .selectFrom('patientProfiles')
    .selectAll()
    .where('id', '=', id)
    .where('deletedAt', 'is', null)
    .executeTakeFirst();
}

export function updateProfile(
  db: Executor,
  id: string,
  changes: Partial<{
    name: string;
    relation: 'child' | 'parent' | 'spouse' | 'sibling' | 'other';
    dateOfBirth: string | null;
    sex: 'female' | 'male' | 'other' | null;
    phone: string | null;
    deletedAt: Date;
  }>,
) {
  return db
    .updateTable('patientProfiles')
    .set({ ...changes, updatedAt: sql<Date>`now()` })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

// Audit ----------------------------------------------------------------------------------------------------

export function insertAudit(
  db: Executor,
  entry: {
    actorId: string | null;
    action: string;
    targetType?: string;
    targetId?: string;
    details?: unknown;
    ip?: string;
  },
) {
  return db
    .insertInto('auditLog')
    .values({ ...entry, details: entry.details === undefined ? null : JSON.stringify(entry.details) })
    .execute();
}

export function listAudit(db: Executor, filter: { beforeId?: number; limit: number }) {
  let query = db
    .selectFrom('auditLog')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(filter.limit + 1);
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
  return query.execute();
}

/** Audit entries about some targets with the acting account's name and role, newest first. */
export function listAuditAbout(
  db: Executor,
  filter: { targetType: string; targetIds: string[]; actionPrefix: string; beforeId?: number; limit: number },
) {
  let query = db
    .selectFrom('auditLog')
    .leftJoin('users', 'users.id', 'auditLog.actorId')
    .select([
      'auditLog.id',
      'auditLog.action',
      'auditLog.targetId',
      'auditLog.details',
      'auditLog.at',
      'auditLog.actorId',
      'users.name as actorName',
      'users.role as actorRole',
    ])
    .where('auditLog.targetType', '=', filter.targetType)
    .where('auditLog.targetId', 'in', filter.targetIds)
    .where('auditLog.action', 'like', `${filter.actionPrefix.replace(/[%_\\]/g, '\\$&')}%`)
    .orderBy('auditLog.id', 'desc')
    .limit(filter.limit + 1);
  if (filter.beforeId !== undefined) query = query.where('auditLog.id', '<', filter.beforeId);
  return query.execute();
}
