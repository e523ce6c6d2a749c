// What the accounts services share: their dependencies, the caller of an admin action, the API shapes of a
// user and a dependent, phone normalising, the new-password check and opening a patient account.
import { randomUUID } from 'node:crypto';
import type { Transaction } from 'kysely';
import type { CountryCode } from 'libphonenumber-js';
import type { Clock } from '../../clock.js';
import type { Database, DB } from '../../db/database.js';
import { invalidField } from '../../errors.js';
import type { DomainEvents, Emit } from '../../events.js';
import { passwordProblem } from '../../lib/password.js';
import { toE164 } from '../../lib/phone.js';
import * as repo from './accounts.repository.js';
import type { PatientProfile, Role } from './accounts.table.js';

export interface AccountsDeps {
  db: DB;
  clock: Clock;
  phoneRegion: string;
  /** Account messages (reset links, repeated registrations) reach the outbox through these. */
  events: DomainEvents;
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

/** A phone number in E.164 for the clinic's region, or null when none was given. */
export function normalisePhone(
  deps: Pick<AccountsDeps, 'phoneRegion'>,
  input: string | null | undefined,
  field = 'phone',
): string | null {
  if (input === undefined || input === null) return null;
  return toE164(input, deps.phoneRegion as CountryCode, field);
}

/** Refuses a new password that fails the rules (lib/password.ts) with 400 VALIDATION_FAILED naming the field. */
export async function checkNewPassword(
  password: string,
  account: { email?: string | null; name?: string | null },
  field = 'body.password',
): Promise<void> {
  const problem = await passwordProblem(password, account);
  if (problem) throw invalidField(field, problem);
}

/**
 * Accounts the desk opens without an e-mail address get a unique address in the reserved `.invalid` domain
 * (users.email is required and unique); it never receives mail and is shown as null.
 */
const NO_EMAIL_DOMAIN = 'no-email.invalid';

/** The address to show for an account: null for the placeholder of an account without one. */
export function shownEmail(email: string): string | null {
  return email.endsWith(`@${NO_EMAIL_DOMAIN}`) ? null : email;
}

/**
 * Opens a patient account with its own (self) profile, inside the caller's transaction: the one way a patient
 * account comes to be, whether the patient registers or a desk does it for them, so both give the same rows
 * and the same `account.patient_registered` event (notifications sets the channels from it). Without an
 * e-mail address the account gets a placeholder one.
 */
export async function openPatientAccount(
  trx: Transaction<Database>,
  emit: Emit,
  values: {
    email: string | null;
    passwordHash: string;
    name: string;
    /** E.164, already normalised by the caller. */
    phone: string | null;
    dateOfBirth?: string | null;
    sex?: 'female' | 'male' | 'other' | null;
    actorId: string | null;
  },
) {
  const email = values.email ?? `desk-${randomUUID()}@${NO_EMAIL_DOMAIN}`;
  const { name, phone } = values;
  const user = await repo.insertUser(trx, {
    email,
    passwordHash: values.passwordHash,
    name,
    phone,
    role: 'patient',
  });
  const profile = await repo.insertProfile(trx, {
    accountId: user.id,
    isSelf: true,
    name,
    relation: 'self',
    phone,
    dateOfBirth: values.dateOfBirth ?? null,
    sex: values.sex ?? null,
  });
  await emit('account.patient_registered', {
    userId: user.id,
    profileId: profile.id,
    email: values.email,
    actorId: values.actorId,
  });
  return { user: { id: user.id, email, name, phone }, profile };
}
