// Doctor records that follow their accounts: the doctors row an account gets when it becomes a doctor's, and
// the listed name when the account is renamed, written inside the accounts transaction that causes them (the
// accounts module never writes doctors itself).
import type { DB } from '../../db/database.js';
import { AppError } from '../../errors.js';
import type { DomainEvents } from '../../events.js';
import * as repo from './doctors.repository.js';

export interface DoctorAccountsDeps {
  db: DB;
  /** Drops the doctor's cached profile and the cached search pages. */
  invalidate(...doctorIds: string[]): Promise<void>;
}

export function subscribeDoctorAccounts(events: DomainEvents, deps: DoctorAccountsDeps): void {
  // A licence number belongs to one doctor; the refusal rolls the whole account back.
  events.inTransaction('account.doctor_registered', async (trx, e) => {
    if (e.licenseNo && (await repo.findDoctorByLicense(trx, e.licenseNo))) {
      throw new AppError('CONFLICT', 'This licence number is already registered', [
        { field: 'body.licenseNo', message: 'is already registered' },
      ]);
    }
    await repo.insertDoctor(trx, { userId: e.userId, name: e.name, licenseNo: e.licenseNo });
  });
  events.inTransaction('account.renamed', (trx, e) => repo.renameDoctorOfUser(trx, e.userId, e.name));
  events.afterCommit('account.renamed', async ({ userId }) => {
    const doctor = await repo.findDoctorOfUser(deps.db, userId);
    if (doctor) await deps.invalidate(doctor.id);
  });
}
