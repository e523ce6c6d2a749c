// The signed-in account's own profile, and the dependents (children, parents) it books for.
import type { Static } from '@sinclair/typebox';
import { AppError, notFound } from '../../errors.js';
import { hashPassword, verifyPassword } from '../../lib/password.js';
import { checkDateOfBirth } from '../../lib/people.js';
import * as repo from './accounts.repository.js';
import type { DependentBodySchema, DependentUpdateSchema, MeUpdateSchema } from './accounts.schema.js';
import {
  type AccountsDeps,
  checkNewPassword,
  normalisePhone,
  toDependentView,
  toUserView,
} from './accounts.shared.js';

export class AccountProfiles {
  constructor(private readonly deps: AccountsDeps) {}

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
    if (body.phone !== undefined) changes.phone = normalisePhone(this.deps, body.phone, 'body.phone');
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
      await checkNewPassword(body.password, { email: user.email, name: body.name ?? user.name });
      changes.passwordHash = await hashPassword(body.password);
    }
    await this.deps.events.transaction(this.deps.db, async (trx, emit) => {
      await repo.updateUser(trx, userId, changes);
      if (user.profileId && (changes.name !== undefined || changes.phone !== undefined)) {
        await repo.updateProfile(trx, user.profileId, {
          ...(changes.name !== undefined ? { name: changes.name } : {}),
          ...(changes.phone !== undefined ? { phone: changes.phone } : {}),
        });
      }
      if (changes.name !== undefined) await emit('account.renamed', { userId, name: changes.name });
      if (changes.passwordHash) await repo.revokeUserTokens(trx, userId, this.deps.clock.now());
    });
    return this.me(userId);
  }

  // Dependents ---------------------------------------------------------------------------------------------

  async listDependents(accountId: string) {
    return (await repo.listDependents(this.deps.db, accountId)).map(toDependentView);
  }

  async addDependent(accountId: string, body: Static<typeof DependentBodySchema>) {
    checkDateOfBirth(body.dateOfBirth, this.deps.clock.now(), 'body.dateOfBirth');
    const count = (await repo.listDependents(this.deps.db, accountId)).length;
    if (count >= 20) throw new AppError('CONFLICT', 'An account can hold at most 20 dependents');
    const profile = await repo.insertProfile(this.deps.db, {
      accountId,
      name: body.name,
      relation: body.relation,
      dateOfBirth: body.dateOfBirth ?? null,
      sex: body.sex ?? null,
      phone: normalisePhone(this.deps, body.phone, 'body.phone'),
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
    checkDateOfBirth(body.dateOfBirth, this.deps.clock.now(), 'body.dateOfBirth');
    await this.ownDependent(accountId, id);
    const { phone, ...rest } = body;
    const updated = await repo.updateProfile(this.deps.db, id, {
      ...rest,
      ...(phone !== undefined ? { phone: normalisePhone(this.deps, phone, 'body.phone') } : {}),
    });
    if (!updated) throw notFound('Dependent');
    return toDependentView(updated);
  }

  async removeDependent(accountId: string, id: string): Promise<void> {
    await this.ownDependent(accountId, id);
    await repo.updateProfile(this.deps.db, id, { deletedAt: this.deps.clock.now() });
  }
}
