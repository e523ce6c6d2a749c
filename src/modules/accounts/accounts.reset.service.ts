// Password reset by e-mail link or SMS code. A request answers the same whether or not an account matches;
// what is sent is single-use, short-lived and stored only as a hash; a completed reset ends every session.
import { randomInt } from 'node:crypto';
import { AppError, invalidField } from '../../errors.js';
import { DUMMY_HASH, hashPassword, passwordProblem, verifyPassword } from '../../lib/password.js';
import { hashToken, newOpaqueToken } from '../../lib/tokens.js';
import * as repo from './accounts.repository.js';
import { type AccountsDeps, checkNewPassword, normalisePhone } from './accounts.shared.js';

/** @default an e-mailed link works for 30 minutes */
export const RESET_LINK_MINUTES = 30;
/** @default an SMS code works for 10 minutes */
export const RESET_CODE_MINUTES = 10;
/** Wrong guesses after which an SMS code stops working. */
export const RESET_CODE_ATTEMPTS = 5;
/** Requests per account an hour beyond which nothing more is sent (the answer stays the same). */
export const RESET_REQUESTS_PER_HOUR = 3;

export type ResetRequest = { email: string } | { phone: string };
export type ResetConfirmation =
  | { token: string; newPassword: string }
  | { phone: string; code: string; newPassword: string };

const invalidSecret = (field: string) =>
  new AppError('VALIDATION_FAILED', 'This reset link or code is invalid, used or expired', [
    { field, message: 'is invalid, already used or expired', reason: 'reset_invalid' },
  ]);

export class AccountPasswordReset {
  constructor(private readonly deps: AccountsDeps) {}

  /** Sends a link or code when an active account matches; answers the same (nothing) either way. */
  async request(body: ResetRequest): Promise<void> {
    const now = this.deps.clock.now();
    const channel = 'email' in body ? 'email' : 'sms';
    const user =
      'email' in body
        ? await repo.findUserByEmail(this.deps.db, body.email)
        : await this.soleAccountWithPhone(body.phone);
    const recipient = 'email' in body ? user?.email : normalisePhone(this.deps, body.phone, 'body.phone');
    const since = new Date(now.getTime() - 3_600_000);
    if (
      !user ||
      user.disabledAt ||
      !recipient ||
      (await repo.countRecentResets(this.deps.db, user.id, since)) >= RESET_REQUESTS_PER_HOUR
    ) {
      // The same work as a real SMS request, so the answer's timing does not tell either.
      if (channel === 'sms') await hashPassword('000000');
      return;
    }
    const secret = channel === 'email' ? newOpaqueToken() : String(randomInt(0, 1_000_000)).padStart(6, '0');
    const secretHash = channel === 'email' ? hashToken(secret) : await hashPassword(secret);
    const validMinutes = channel === 'email' ? RESET_LINK_MINUTES : RESET_CODE_MINUTES;
    await this.deps.events.transaction(this.deps.db, async (trx, emit) => {
      await repo.closeResets(trx, user.id, now, channel);
      const reset = await repo.insertPasswordReset(trx, {
        userId: user.id,
        channel,
        secretHash,
        createdAt: now,
        expiresAt: new Date(now.getTime() + validMinutes * 60_000),
      });
      await emit('account.password_reset_requested', {
        resetId: reset.id,
        userId: user.id,
        channel,
        recipient,
        secret,
        validMinutes,
      });
    });
  }

  /** Sets the new password from a valid link or code, uses it up, and revokes every refresh token. */
  async confirm(body: ResetConfirmation): Promise<void> {
    // The rules that do not depend on the account first: a refusal here tells nothing about who exists.
    const generic = await passwordProblem(body.newPassword);
    if (generic) throw invalidField('body.newPassword', generic);
    const field = 'token' in body ? 'body.token' : 'body.code';
    const smsUser = 'token' in body ? undefined : await this.soleAccountWithPhone(body.phone);
    const now = this.deps.clock.now();
    const outcome = await this.deps.db.transaction().execute(async (trx) => {
      const row =
        'token' in body
          ? await repo.lockEmailReset(trx, hashToken(body.token))
          : smsUser
            ? await repo.lockOpenSmsReset(trx, smsUser.id)
            : undefined;
      const usable = row && !row.usedAt && new Date(row.expiresAt) > now;
      if ('code' in body) {
        const matches = await verifyPassword(body.code, usable ? row.secretHash : DUMMY_HASH);
        if (row && usable && !matches) {
          const attempts = row.attempts + 1;
          await repo.recordResetAttempt(trx, row.id, attempts, attempts >= RESET_CODE_ATTEMPTS ? now : null);
        }
        if (!matches) return { error: invalidSecret(field) };
      }
      if (!row || !usable) return { error: invalidSecret(field) };
      const user = await repo.findUserById(trx, row.userId);
      if (!user || user.disabledAt) return { error: invalidSecret(field) };
      // Throws (and rolls back, leaving the link or code usable) when the password is the account's own e-mail.
      await checkNewPassword(body.newPassword, user, 'body.newPassword');
      await repo.updateUser(trx, user.id, { passwordHash: await hashPassword(body.newPassword) });
      await repo.closeResets(trx, user.id, now);
      await repo.revokeUserTokens(trx, user.id, now);
      return { userId: user.id };
    });
    if ('error' in outcome) throw outcome.error;
  }

  /** The one active account whose own number this is; none when several share it (e-mail reset then). */
  private async soleAccountWithPhone(input: string) {
    const phone = normalisePhone(this.deps, input, 'body.phone');
    if (!phone) return undefined;
    const users = await repo.findUsersByPhone(this.deps.db, phone);
    return users.length === 1 ? users[0] : undefined;
  }
}
