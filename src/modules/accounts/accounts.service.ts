// Accounts: registration, sign-in with rotating refresh tokens, profiles and dependents, admin user management.
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { CountryCode } from 'libphonenumber-js';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../../lib/password.js';
import { toE164 } from '../../lib/phone.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import * as repo from './accounts.repository.js';
import type {
  AdminUserCreateSchema,
  AdminUserUpdateSchema,
  DependentBodySchema,
  DependentUpdateSchema,
  MeUpdateSchema,
  RegisterBodySchema,
} from './accounts.schema.js';
import type { PatientProfile, Role } from './accounts.table.js';

export const REFRESH_TOKEN_DAYS = 30;

export interface AccountsDeps {
  db: DB;
  clock: Clock;
  phoneRegion: string;
  signAccessToken(user: { id: string; role: Role }): string;
  accessTokenSeconds: number;
}

export interface Actor {
  id: string;
  ip?: string;
}

type UserRow = NonNullable<Awaited<ReturnType<typeof repo.findUserById>>>;

export function toUserView(row: Omit<UserRow, 'passwordHash' | 'profileId'> & { profileId?: string | null }) {
  return {
    id: row.id,
    email: row.email,
    name: row.name,
    phone: row.phone,
    role: row.role,
    ...(row.role === 'doctor' ? { doctorId: row.doctorId } : {}),
    ...(row.role === 'staff' ? { hospitalId: row.hospitalId } : {}),
    ...(row.role === 'patient' && row.profileId !== undefined ? { profileId: row.profileId } : {}),
    ...(row.disabledAt ? { disabled: true } : {}),
  };
}

export function toDependentView(p: PatientProfile) {
  return {
    id: p.id,
    name: p.name,
    relation: p.relation,
    dateOfBirth: p.dateOfBirth,
    sex: p.sex,
    phone: p.phone,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A cursor this service handed out, or 400: a tampered cursor must not silently restart the list. */
function readCursor<T extends unknown[]>(
  cursor: string | undefined,
  valid: (values: unknown[]) => values is T,
): T | null {
  if (cursor === undefined) return null;
  const values = decodeCursor<unknown[]>(cursor, 1);
  if (!values || !valid(values)) {
    throw new AppError('VALIDATION_FAILED', 'cursor is not valid', [
      { field: 'querystring.cursor', message: 'is not valid' },
    ]);
  }
  return values;
}

const unauthenticated = (message: string, reason: string) =>
  new AppError('UNAUTHENTICATED', message, { reason });

export class AccountsService {
  constructor(private readonly deps: AccountsDeps) {}

  private phone(input: string | null | undefined, field = 'phone'): string | null {
    if (input === undefined || input === null) return null;
    return toE164(input, this.deps.phoneRegion as CountryCode, field);
  }

  async register(body: Static<typeof RegisterBodySchema>) {
    const phone = this.phone(body.phone, 'body.phone');
    if (body.role === 'doctor' && !body.licenseNo && !phone) {
      throw new AppError('VALIDATION_FAILED', 'A doctor registers with a licence number or a phone number', [
        { field: 'body.licenseNo', message: 'licenseNo or phone is required for doctors' },
      ]);
    }
    const passwordHash = await hashPassword(body.password);
    const id = await this.deps.db.transaction().execute(async (trx) => {
      if (await repo.emailTaken(trx, body.email)) {
        throw new AppError('CONFLICT', 'An account with this e-mail already exists', [
          { field: 'body.email', message: 'is already registered' },
        ]);
      }
      const user = await repo.insertUser(trx, {
        email: body.email,
        passwordHash,
        name: body.name,
        phone,
        role: body.role,
      });
      if (body.role === 'patient') {
        await repo.insertProfile(trx, {
          accountId: user.id,
          isSelf: true,
          name: body.name,
          relation: 'self',
          phone,
        });
      } else {
        await this.createDoctorRecord(trx, user.id, body.name, body.licenseNo ?? null);
      }
      return user.id;
    });
    return this.issueTokens(id, randomUUID());
  }

  private async createDoctorRecord(
    trx: Parameters<typeof repo.insertUser>[0],
    userId: string,
    name: string,
    licenseNo: string | null,
  ) {
    if (licenseNo) {
      const taken = await trx
        .selectFrom('doctors')
        .select('id')
        .where('licenseNo', '=', licenseNo)
        .executeTakeFirst();
      if (taken) {
        throw new AppError('CONFLICT', 'This licence number is already registered', [
          { field: 'body.licenseNo', message: 'is already registered' },
        ]);
      }
    }
    await trx.insertInto('doctors').values({ userId, name, licenseNo }).execute();
  }

  async login(email: string, password: string) {
    const user = await repo.findUserByEmail(this.deps.db, email);
    const ok = await verifyPassword(password, user?.passwordHash ?? DUMMY_HASH);
    if (!user || !ok) throw unauthenticated('E-mail or password is wrong', 'credentials');
    if (user.disabledAt) throw unauthenticated('This account is disabled', 'disabled');
    return this.issueTokens(user.id, randomUUID());
  }

  /** Rotates a refresh token. A token presented twice means it leaked: the whole family is revoked. */
  async refresh(refreshToken: string) {
    const now = this.deps.clock.now();
    const outcome = await this.deps.db.transaction().execute(async (trx) => {
      const row = await repo.lockRefreshToken(trx, hashToken(refreshToken));
      if (!row) return { error: unauthenticated('Refresh token invalid', 'invalid') };
      if (row.revokedAt) return { error: unauthenticated('Refresh token revoked', 'revoked') };
      if (row.usedAt) {
        await repo.revokeFamily(trx, row.familyId, now);
        return { error: unauthenticated('Refresh token already used; sign in again', 'reused') };
      }
      if (new Date(row.expiresAt) <= now)
        return { error: unauthenticated('Refresh token expired', 'expired') };
      await repo.markRefreshTokenUsed(trx, row.id, now);
      return { userId: row.userId, familyId: row.familyId };
    });
    if ('error' in outcome) throw outcome.error;
    return this.issueTokens(outcome.userId, outcome.familyId);
  }

  async logout(refreshToken: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      const row = await repo.lockRefreshToken(trx, hashToken(refreshToken));
      if (row) await repo.revokeFamily(trx, row.familyId, now);
    });
  }

  private async issueTokens(userId: string, familyId: string) {
    const user = await repo.findUserById(this.deps.db, userId);
    if (!user) throw unauthenticated('Account no longer exists', 'unknown');
    if (user.disabledAt) throw unauthenticated('This account is disabled', 'disabled');
    const refreshToken = newOpaqueToken();
    const expiresAt = new Date(this.deps.clock.now().getTime() + REFRESH_TOKEN_DAYS * 86_400_000);
    await repo.insertRefreshToken(this.deps.db, {
      userId,
      familyId,
      tokenHash: hashToken(refreshToken),
      expiresAt,
    });
    return {
      accessToken: this.deps.signAccessToken({ id: user.id, role: user.role }),
      refreshToken,
      expiresIn: this.deps.accessTokenSeconds,
      user: toUserView(user),
    };
  }

  async me(userId: string) {
    const user = await repo.findUserById(this.deps.db, userId);
    if (!user) throw notFound('Account');
    return toUserView(user);
  }

  async updateMe(userId: string, body: Static<typeof MeUpdateSchema>) {
    const user = await repo.findUserById(this.deps.db, userId);
    if (!user) throw notFound('Account');
    const changes: Parameters<typeof repo.updateUser>[2] = {};
    if (body.name !== undefined) changes.name = body.name;
    if (body.phone !== undefined) changes.phone = this.phone(body.phone, 'body.phone');
    if (body.password !== undefined) {
      if (!body.currentPassword) {
        throw new AppError('VALIDATION_FAILED', 'Changing the password needs the current password', [
          { field: 'body.currentPassword', message: 'is required to change the password' },
        ]);
      }
      if (!(await verifyPassword(body.currentPassword, user.passwordHash))) {
        throw new AppError('FORBIDDEN', 'The current password is wrong', [
          { field: 'body.currentPassword', message: 'is wrong' },
        ]);
      }
      changes.passwordHash = await hashPassword(body.password);
    }
    await this.deps.db.transaction().execute(async (trx) => {
      await repo.updateUser(trx, userId, changes);
      if (user.profileId && (changes.name !== undefined || changes.phone !== undefined)) {
        await repo.updateProfile(trx, user.profileId, {
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.phone !== undefined ? { phone: changes.phone } : {}),
        });
      }
      if (user.role === 'doctor' && changes.name !== undefined) {
        await trx.updateTable('doctors').set({ name: changes.name }).where('userId', '=', userId).execute();
      }
      if (changes.passwordHash) await repo.revokeUserTokens(trx, userId, this.deps.clock.now());
    });
    return this.me(userId);
  }

  // Dependents ---------------------------------------------------------------------------------------------

  async listDependents(accountId: string) {
    return (await repo.listDependents(this.deps.db, accountId)).map(toDependentView);
  }

  async addDependent(accountId: string, body: Static<typeof DependentBodySchema>) {
    const count = (await repo.listDependents(this.deps.db, accountId)).length;
    if (count >= 20) throw new AppError('CONFLICT', 'An account can hold at most 20 dependents');
    const profile = await repo.insertProfile(this.deps.db, {
      accountId,
      name: body.name,
      relation: body.relation,
      dateOfBirth: body.dateOfBirth ?? null,
      sex: body.sex ?? null,
      phone: this.phone(body.phone, 'body.phone'),
    });
    return toDependentView(profile);
  }

  /** A dependent of this account, or 404: another account's profile is indistinguishable from none. */
  async ownDependent(accountId: string, id: string) {
    const profile = await repo.findProfile(this.deps.db, id);
    if (!profile || profile.accountId !== accountId || profile.isSelf) throw notFound('Dependent');
    return profile;
  }

  async updateDependent(accountId: string, id: string, body: Static<typeof DependentUpdateSchema>) {
    await this.ownDependent(accountId, id);
    const { phone, ...rest } = body;
    const updated = await repo.updateProfile(this.deps.db, id, {
      ...rest,
      ...(phone !== undefined ? { phone: this.phone(phone, 'body.phone') } : {}),
    });
    if (!updated) throw notFound('Dependent');
    return toDependentView(updated);
  }

  async removeDependent(accountId: string, id: string): Promise<void> {
    await this.ownDependent(accountId, id);
    await repo.updateProfile(this.deps.db, id, { deletedAt: this.deps.clock.now() });
  }

  // Admin ----------------------------------------------------------------------------------------------------

  async createUser(actor: Actor, body: Static<typeof AdminUserCreateSchema>) {
    const phone = this.phone(body.phone, 'body.phone');
    if (body.role === 'staff' && !body.hospitalId) {
      throw new AppError('VALIDATION_FAILED', 'Staff belong to a hospital', [
        { field: 'body.hospitalId', message: 'is required for staff' },
      ]);
    }
    const passwordHash = await hashPassword(body.password);
    const id = await this.deps.db.transaction().execute(async (trx) => {
      if (await repo.emailTaken(trx, body.email)) {
        throw new AppError('CONFLICT', 'An account with this e-mail already exists', [
          { field: 'body.email', message: 'is already registered' },
        ]);
      }
      if (body.hospitalId) await this.requireHospital(trx, body.hospitalId);
      const user = await repo.insertUser(trx, {
        email: body.email,
        passwordHash,
        name: body.name,
        phone,
        role: body.role,
        hospitalId: body.role === 'staff' ? (body.hospitalId ?? null) : null,
      });
      if (body.role === 'doctor')
        await this.createDoctorRecord(trx, user.id, body.name, body.licenseNo ?? null);
      await repo.insertAudit(trx, {
        actorId: actor.id,
        action: 'user.create',
        targetType: 'user',
        targetId: user.id,
        details: { role: body.role, hospitalId: body.hospitalId ?? null },
        ip: actor.ip,
      });
      return user.id;
    });
    return this.me(id);
  }

  private async requireHospital(db: Parameters<typeof repo.insertUser>[0], hospitalId: string) {
    const hospital = await db
      .selectFrom('hospitals')
      .select('id')
      .where('id', '=', hospitalId)
      .where('deletedAt', 'is', null)
      .executeTakeFirst();
    if (!hospital) {
      throw new AppError('VALIDATION_FAILED', 'No such hospital', [
        { field: 'body.hospitalId', message: 'does not exist' },
      ]);
    }
  }

  async updateUser(actor: Actor, id: string, body: Static<typeof AdminUserUpdateSchema>) {
    const now = this.deps.clock.now();
    await this.deps.db.transaction().execute(async (trx) => {
      const user = await repo.findUserById(trx, id);
      if (!user) throw notFound('User');
      if (id === actor.id && (body.disabled === true || (body.role && body.role !== 'admin'))) {
        throw new AppError('CONFLICT', 'An admin cannot disable or demote their own account');
      }
      const role = body.role ?? user.role;
      const hospitalId = body.hospitalId !== undefined ? body.hospitalId : user.hospitalId;
      if (role === 'staff' && !hospitalId) {
        throw new AppError('VALIDATION_FAILED', 'Staff belong to a hospital', [
          { field: 'body.hospitalId', message: 'is required for staff' },
        ]);
      }
      if (body.hospitalId) await this.requireHospital(trx, body.hospitalId);
      if (role === 'doctor' && !user.doctorId)
        await this.createDoctorRecord(trx, id, body.name ?? user.name, null);
      await repo.updateUser(trx, id, {
        ...(body.role ? { role } : {}),
        ...(body.name ? { name: body.name } : {}),
        hospitalId: role === 'staff' ? hospitalId : null,
        ...(body.disabled !== undefined ? { disabledAt: body.disabled ? now : null } : {}),
      });
      if (body.disabled) await repo.revokeUserTokens(trx, id, now);
      await repo.insertAudit(trx, {
        actorId: actor.id,
        action: 'user.update',
        targetType: 'user',
        targetId: id,
        details: body,
        ip: actor.ip,
      });
    });
    return this.me(id);
  }

  async listUsers(filter: { role?: Role; q?: string; limit?: number; cursor?: string }) {
    const limit = filter.limit ?? 20;
    const after = readCursor(filter.cursor, (v): v is [string] => UUID.test(String(v[0])));
    const rows = await repo.listUsers(this.deps.db, {
      role: filter.role,
      q: filter.q,
      afterId: after?.[0],
      limit,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map((r) => toUserView(r)),
      nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null,
    };
  }

  async listAudit(filter: { limit?: number; cursor?: string }) {
    const limit = filter.limit ?? 50;
    const before = readCursor(filter.cursor, (v): v is [number] => Number.isSafeInteger(v[0]));
    const rows = await repo.listAudit(this.deps.db, { beforeId: before?.[0], limit });
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({ ...r, at: new Date(r.at).toISOString() })),
      nextCursor: rows.length > limit ? encodeCursor([page[page.length - 1].id]) : null,
    };
  }

  /** Creates the admin named by ADMIN_EMAIL/ADMIN_PASSWORD (or the CLI) unless that account exists. */
  async ensureAdmin(email: string, password: string, name = 'Administrator'): Promise<'created' | 'exists'> {
    if (await repo.emailTaken(this.deps.db, email)) return 'exists';
    const passwordHash = await hashPassword(password);
    try {
      await repo.insertUser(this.deps.db, { email, passwordHash, name, role: 'admin', phone: null });
    } catch (err) {
      // Another instance starting at the same moment created it first.
      if ((err as { code?: string }).code === '23505') return 'exists';
      throw err;
    }
    return 'created';
  }
}
