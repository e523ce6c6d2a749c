// What the accounts services share: their dependencies, the caller of an admin action, the API shapes of a
// user and a dependent, phone normalising, the new-password check and the doctor record a doctor account needs.
import type { CountryCode } from 'libphonenumber-js';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError, invalidField } from '../../errors.js';
import type { DomainEvents } from '../../events.js';
import { passwordProblem } from '../../lib/password.js';
import { toE164 } from '../../lib/phone.js';
import type * as repo from './accounts.repository.js';
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

/** The doctors row a doctor account needs; a licence number belongs to one doctor. */
export async function createDoctorRecord(
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
