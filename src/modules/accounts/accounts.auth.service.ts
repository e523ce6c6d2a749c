// Sign-up, sign-in and tokens: registration of patients and doctors, password sign-in, and refresh tokens that
// rotate on every use, in families so that a reused token revokes its whole family.
import { randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import { AppError } from '../../errors.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from '../../lib/password.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import * as repo from './accounts.repository.js';
import type { RegisterBodySchema } from './accounts.schema.js';
import {
  type AccountsDeps,
  checkNewPassword,
  normalisePhone,
  openPatientAccount,
  toUserView,
} from './accounts.shared.js';

export const REFRESH_TOKEN_DAYS = 30;

const unauthenticated = (message: string, reason: string) =>
  new AppError('UNAUTHENTICATED', message, { reason });

export class AccountAuth {
  constructor(private readonly deps: AccountsDeps) {}

  /**
   * Registers and signs in. An e-mail that already has an account gets an answer of the same status and
   * shape, with tokens that open nothing, and its owner an e-mail instead: the caller cannot tell.
   */
  async register(body: Static<typeof RegisterBodySchema>) {
    const phone = normalisePhone(this.deps, body.phone, 'body.phone');
    if (body.role === 'doctor' && !body.licenseNo && !phone) {
      throw new AppError('VALIDATION_FAILED', 'A doctor registers with a licence number or a phone number', [
        { field: 'body.licenseNo', message: 'licenseNo or phone is required for doctors' },
      ]);
    }
    await checkNewPassword(body.password, body);
    const passwordHash = await hashPassword(body.password);
    const outcome = await this.createAccount(body, phone, passwordHash).catch(async (err: unknown) => {
      // Another registration of the same e-mail committed between our check and our insert.
      if ((err as { code?: string }).code !== '23505' || !/users_email/.test(String(err))) throw err;
      return this.createAccount(body, phone, passwordHash);
    });
    if ('repeated' in outcome) return this.decoyTokens(body, phone);
    return this.issueTokens(outcome.id, randomUUID());
  }

  private createAccount(
    body: Static<typeof RegisterBodySchema>,
    phone: string | null,
    passwordHash: string,
  ): Promise<{ id: string } | { repeated: true }> {
    return this.deps.events.transaction(this.deps.db, async (trx, emit) => {
      const existing = await repo.findUserByEmail(trx, body.email);
      if (existing) {
        await emit('account.registration_repeated', { userId: existing.id, email: existing.email });
        return { repeated: true as const };
      }
      if (body.role === 'patient') {
        const { user } = await openPatientAccount(trx, emit, {
          email: body.email,
          passwordHash,
          name: body.name,
          phone,
          actorId: null,
        });
        return { id: user.id };
      }
      const user = await repo.insertUser(trx, {
        email: body.email,
        passwordHash,
        name: body.name,
        phone,
        role: body.role,
      });
      await emit('account.doctor_registered', {
        userId: user.id,
        name: body.name,
        licenseNo: body.licenseNo ?? null,
      });
      return { id: user.id };
    });
  }

  /** What a fresh registration answers, for an account that is not there: every token in it is refused. */
  private decoyTokens(body: Static<typeof RegisterBodySchema>, phone: string | null) {
    const id = randomUUID();
    return {
      accessToken: this.deps.signAccessToken({ id, role: body.role }),
      refreshToken: newOpaqueToken(),
      expiresIn: this.deps.accessTokenSeconds,
      user: toUserView({
        id,
        email: body.email,
        name: body.name,
        phone,
        role: body.role,
        hospitalId: null,
        disabledAt: null,
        doctorId: body.role === 'doctor' ? randomUUID() : null,
        profileId: body.role === 'patient' ? randomUUID() : null,
      }),
    };
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
}
