// Accounts for tests, made through the service (no HTTP rate limits in the way) and signed in.
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Role } from '../../src/modules/accounts/accounts.table.js';

export const PASSWORD = 'correct horse battery';

export interface TestUser {
  id: string;
  email: string;
  role: Role;
  token: string;
  refreshToken: string;
  profileId?: string | null;
  doctorId?: string | null;
  hospitalId?: string | null;
  auth: { authorization: string };
}

export function uniqueEmail(tag = 'user'): string {
  return `${tag}-${randomBytes(5).toString('hex')}@example.test`;
}

/** Signs up (patients, doctors) or is created by an admin (staff, admins) and then signs in. */
export async function makeUser(
  app: FastifyInstance,
  role: Role,
  extra: { name?: string; hospitalId?: string; phone?: string; licenseNo?: string; verified?: boolean } = {},
): Promise<TestUser> {
  const email = uniqueEmail(role);
  const name = extra.name ?? `Test ${role}`;
  if (role === 'patient' || role === 'doctor') {
    await app.accounts.auth.register({
      email,
      password: PASSWORD,
      name,
      role,
      phone: extra.phone,
      licenseNo: role === 'doctor' ? (extra.licenseNo ?? `LIC-${randomBytes(4).toString('hex')}`) : undefined,
    });
  } else {
    await app.accounts.admin.ensureAdmin(email, PASSWORD, name);
    if (role === 'staff') {
      const user = await app.db
        .selectFrom('users')
        .select('id')
        .where('email', '=', email)
        .executeTakeFirstOrThrow();
      await app.db
        .updateTable('users')
        .set({ role: 'staff', hospitalId: extra.hospitalId ?? null })
        .where('id', '=', user.id)
        .execute();
    }
  }
  if (role === 'doctor' && extra.verified !== false) {
    await app.db
      .updateTable('doctors')
      .set({ verifiedAt: new Date() })
      .where('userId', '=', app.db.selectFrom('users').select('id').where('email', '=', email))
      .execute();
  }
  const tokens = await app.accounts.auth.login(email, PASSWORD);
  const user: { profileId?: string | null; doctorId?: string | null; hospitalId?: string | null } =
    tokens.user;
  return {
    id: tokens.user.id,
    email,
    role,
    token: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    profileId: user.profileId ?? null,
    doctorId: user.doctorId ?? null,
    hospitalId: user.hospitalId ?? null,
    auth: { authorization: `Bearer ${tokens.accessToken}` },
  };
}
