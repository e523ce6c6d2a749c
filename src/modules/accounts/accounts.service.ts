// The accounts module's one service, as the routes, the seed, the CLI and other modules see it: sign-up,
// sign-in and tokens (accounts.auth.service.ts), the own profile and dependents (accounts.profiles.service.ts)
// and admin user management (accounts.admin.service.ts).
import { AccountAdmin } from './accounts.admin.service.js';
import { AccountAuth } from './accounts.auth.service.js';
import { AccountProfiles } from './accounts.profiles.service.js';
import { AccountPasswordReset } from './accounts.reset.service.js';
import type { AccountsDeps } from './accounts.shared.js';

// What this file exported before the split, for importers of it.
export { REFRESH_TOKEN_DAYS } from './accounts.auth.service.js';
export { type AccountsDeps, type Actor, toDependentView, toUserView } from './accounts.shared.js';

export class AccountsService {
  readonly auth: AccountAuth;
  readonly profiles: AccountProfiles;
  readonly admin: AccountAdmin;
  /** Password reset by e-mail link or SMS code (accounts.reset.service.ts); the routes call it directly. */
  readonly reset: AccountPasswordReset;

  constructor(deps: AccountsDeps) {
    this.auth = new AccountAuth(deps);
    this.profiles = new AccountProfiles(deps);
    this.admin = new AccountAdmin(deps, this.profiles);
    this.reset = new AccountPasswordReset(deps);
  }

  // ---- sign-up, sign-in and tokens (accounts.auth.service.ts) ----

  register(...args: Parameters<AccountAuth['register']>) {
    return this.auth.register(...args);
  }

  login(...args: Parameters<AccountAuth['login']>) {
    return this.auth.login(...args);
  }

  /** Rotates a refresh token. A token presented twice means it leaked: the whole family is revoked. */
  refresh(...args: Parameters<AccountAuth['refresh']>) {
    return this.auth.refresh(...args);
  }

  logout(...args: Parameters<AccountAuth['logout']>) {
    return this.auth.logout(...args);
  }

  // ---- the own profile and dependents (accounts.profiles.service.ts) ----

  me(...args: Parameters<AccountProfiles['me']>) {
    return this.profiles.me(...args);
  }

  updateMe(...args: Parameters<AccountProfiles['updateMe']>) {
    return this.profiles.updateMe(...args);
  }

  listDependents(...args: Parameters<AccountProfiles['listDependents']>) {
    return this.profiles.listDependents(...args);
  }

  addDependent(...args: Parameters<AccountProfiles['addDependent']>) {
    return this.profiles.addDependent(...args);
  }

  /** A dependent of this account, or 404: another account's profile is indistinguishable from none. */
  ownDependent(...args: Parameters<AccountProfiles['ownDependent']>) {
    return this.profiles.ownDependent(...args);
  }

  updateDependent(...args: Parameters<AccountProfiles['updateDependent']>) {
    return this.profiles.updateDependent(...args);
  }

  removeDependent(...args: Parameters<AccountProfiles['removeDependent']>) {
    return this.profiles.removeDependent(...args);
  }

  // ---- admin user management (accounts.admin.service.ts) ----

  createUser(...args: Parameters<AccountAdmin['createUser']>) {
    return this.admin.createUser(...args);
  }

  updateUser(...args: Parameters<AccountAdmin['updateUser']>) {
    return this.admin.updateUser(...args);
  }

  listUsers(...args: Parameters<AccountAdmin['listUsers']>) {
    return this.admin.listUsers(...args);
  }

  listAudit(...args: Parameters<AccountAdmin['listAudit']>) {
    return this.admin.listAudit(...args);
  }

  /** Creates the admin named by ADMIN_EMAIL/ADMIN_PASSWORD (or the CLI) unless that account exists. */
  ensureAdmin(...args: Parameters<AccountAdmin['ensureAdmin']>) {
    return this.admin.ensureAdmin(...args);
  }
}
