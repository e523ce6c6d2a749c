// Admin user management: creating and changing accounts (each change audited), patient accounts opened at a
// hospital's desk, the user and audit lists (and the audit entries of other modules' actions), and the bootstrap
// admin.
import { randomBytes } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { Executor } from '../../db/database.js';
import { AppError, notFound } from '../../errors.js';
import { hashPassword } from '../../lib/password.js';
import { decodeCursor, encodeCursor, UUID_PATTERN } from '../../lib/schema.js';
import type { AccountProfiles } from './accounts.profiles.service.js';
import * as repo from './accounts.repository.js';
import type { AdminUserCreateSchema, AdminUserUpdateSchema } from './accounts.schema.js';
import {
  type AccountsDeps,
  type Actor,
  checkNewPassword,
  normalisePhone,
  openPatientAccount,
  toUserView,
} from './accounts.shared.js';
import type { Role } from './accounts.table.js';

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

export class AccountAdmin {
  constructor(
    private readonly deps: AccountsDeps,
    private readonly profiles: Pick<AccountProfiles, 'me'>,
  ) {}

  async createUser(actor: Actor, body: Static<typeof AdminUserCreateSchema>) {
    const phone = normalisePhone(this.deps, body.phone, 'body.phone');
    if (body.role === 'staff' && !body.hospitalId) {
      throw new AppError('VALIDATION_FAILED', 'Staff belong to a hospital', [
        { field: 'body.hospitalId', message: 'is required for staff' },
      ]);
    }
    await checkNewPassword(body.password, body);
    const passwordHash = await hashPassword(body.password);
    const id = await this.deps.events.transaction(this.deps.db, async (trx, emit) => {
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
      if (body.role === 'doctor') {
        await emit('account.doctor_registered', {
          userId: user.id,
          name: body.name,
          licenseNo: body.licenseNo ?? null,
        });
      }
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
    return this.profiles.me(id);
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
    await this.deps.events.transaction(this.deps.db, async (trx, emit) => {
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
        await emit('account.doctor_registered', {
          userId: id,
          name: body.name ?? user.name,
          licenseNo: null,
        });
      else if (body.name) await emit('account.renamed', { userId: id, name: body.name });
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
      await emit('account.changed', { userId: id });
    });
    return this.profiles.me(id);
  }

  /**
   * A patient account opened at a hospital's desk, with a random password: the patient owns their bookings
   * and messages reach their own phone or e-mail, and they can take the account over later with the same
   * e-mail (password reset). Audited; the same account rows as self-registration (openPatientAccount).
   */
  async registerPatient(
    actor: Actor,
    values: {
      email: string | null;
      name: string;
      /** E.164, already normalised by the caller. */
      phone: string | null;
      dateOfBirth: string | null;
      sex: 'female' | 'male' | 'other' | null;
    },
  ) {
    const passwordHash = await hashPassword(randomBytes(24).toString('base64url'));
    return this.deps.events.transaction(this.deps.db, async (trx, emit) => {
      if (values.email !== null && (await repo.emailTaken(trx, values.email))) {
        throw new AppError('CONFLICT', 'An account with this e-mail already exists; search for it instead', [
          { field: 'body.email', message: 'is already registered' },
        ]);
      }
      const opened = await openPatientAccount(trx, emit, { ...values, passwordHash, actorId: actor.id });
      await repo.insertAudit(trx, {
        actorId: actor.id,
        action: 'patient.registered_at_desk',
        targetType: 'user',
        targetId: opened.user.id,
        ip: actor.ip,
      });
      return opened;
    });
  }

  async listUsers(filter: { role?: Role; q?: string; limit?: number; cursor?: string }) {
    const limit = filter.limit ?? 20;
    const after = readCursor(filter.cursor, (v): v is [string] => UUID_PATTERN.test(String(v[0])));
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

  /** Appends a staff or admin action of another module to the audit log, in that action's transaction. */
  audit(db: Executor, entry: Parameters<typeof repo.insertAudit>[1]) {
    return repo.insertAudit(db, entry);
  }

  /**
   * Entries about some targets (e.g. a patient's profiles) whose action starts with `actionPrefix`, newest
   * first, with the acting account's name and role: what the person those targets belong to may see.
   */
  async auditAbout(
    filter: { targetType: string; targetIds: string[]; actionPrefix: string },
    page: { limit?: number; cursor?: string },
  ) {
    const limit = page.limit ?? 20;
    const before = readCursor(page.cursor, (v): v is [number] => Number.isSafeInteger(v[0]));
    const rows =
      filter.targetIds.length === 0
        ? []
        : await repo.listAuditAbout(this.deps.db, { ...filter, beforeId: before?.[0], limit });
    const items = rows.slice(0, limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > limit && last ? encodeCursor([last.id]) : null };
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
