// Patient lookup for the front desk (by name, e-mail or phone) and registering a walk-in patient on the spot.

import type { Static } from '@sinclair/typebox';
import type { CountryCode } from 'libphonenumber-js';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { checkDateOfBirth } from '../../lib/people.js';
import { toE164 } from '../../lib/phone.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import type { Principal } from '../../plugins/auth.js';
import type { AccountAdmin } from '../accounts/accounts.admin.service.js';
import { type Actor, shownEmail } from '../accounts/accounts.shared.js';
import * as repo from './patients.repository.js';
import type { PatientCreateSchema, PatientQuerySchema } from './patients.schema.js';

const PHONE_LIKE = /^[+\d\s().-]+$/;
const MIN_PHONE_DIGITS = 4;

export interface PatientsDeps {
  db: DB;
  clock: Clock;
  phoneRegion: string;
  /** Opens the account: accounts owns users, profiles and the audit log. */
  accounts: Pick<AccountAdmin, 'registerPatient'>;
}

export function toPatientMatch(row: repo.PatientMatchRow) {
  return {
    profileId: row.profileId,
    name: row.name,
    phone: row.profilePhone ?? row.accountPhone,
    dateOfBirth: row.dateOfBirth,
    relation: row.relation,
    accountId: row.accountId,
    accountName: row.accountName,
    accountEmail: shownEmail(row.accountEmail),
  };
}

function badCursor(): AppError {
  return new AppError('VALIDATION_FAILED', 'cursor is not valid', [
    { field: 'querystring.cursor', message: 'is not valid' },
  ]);
}

export class PatientsService {
  constructor(private readonly deps: PatientsDeps) {}

  /** What the desk typed, read as an e-mail prefix, a phone number (E.164 when it parses) or a name. */
  private filterOf(q: string): Omit<repo.PatientFilter, 'limit' | 'after'> {
    const text = q.trim().toLowerCase();
    if (text.includes('@')) return { emailPrefix: text };
    const digits = text.replace(/\D/g, '');
    if (PHONE_LIKE.test(text) && digits.length >= MIN_PHONE_DIGITS) {
      try {
        return { phone: toE164(text, this.deps.phoneRegion as CountryCode, 'querystring.q') };
      } catch {
        return { phoneDigits: digits };
      }
    }
    if (text.length < 2) {
      throw new AppError('VALIDATION_FAILED', 'Type at least two characters', [
        { field: 'querystring.q', message: 'needs at least two characters besides spaces' },
      ]);
    }
    return { name: text };
  }

  /**
   * Admins search every patient. Staff find the patients their hospital has seen (an appointment there, past or
   * future) by any form, and anyone else only by a whole e-mail address or phone number: enough to book a
   * patient new to the hospital, never a list to browse.
   */
  async search(principal: Pick<Principal, 'role' | 'hospitalId'>, query: Static<typeof PatientQuerySchema>) {
    const limit = query.limit ?? 20;
    let after: { name: string; id: string } | undefined;
    if (query.cursor !== undefined) {
      const values = decodeCursor<[unknown, unknown]>(query.cursor, 2);
      if (!values || typeof values[0] !== 'string' || typeof values[1] !== 'string') throw badCursor();
      after = { name: values[0], id: values[1] };
    }
    const rows = await repo.searchPatients(this.deps.db, {
      ...this.filterOf(query.q),
      ...(principal.role === 'admin' ? {} : { seenAt: principal.hospitalId ?? null }),
      after,
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    return {
      items: page.map(toPatientMatch),
      nextCursor: rows.length > limit && last ? encodeCursor([last.name, last.profileId]) : null,
    };
  }

  /**
   * A patient account (random password) with its own profile, opened by the accounts module the same way as a
   * self-registration, so the patient owns their bookings and messages reach their own phone or e-mail.
   */
  async register(actor: Actor, body: Static<typeof PatientCreateSchema>) {
    checkDateOfBirth(body.dateOfBirth, this.deps.clock.now(), 'body.dateOfBirth');
    const phone =
      body.phone === undefined
        ? null
        : toE164(body.phone, this.deps.phoneRegion as CountryCode, 'body.phone');
    if (!phone && !body.email) {
      throw new AppError(
        'VALIDATION_FAILED',
        'A phone number or an e-mail address is needed so reminders reach the patient',
        [{ field: 'body.phone', message: 'phone or email is required' }],
      );
    }
    const { user, profile } = await this.deps.accounts.registerPatient(actor, {
      email: body.email ?? null,
      name: body.name,
      phone,
      dateOfBirth: body.dateOfBirth ?? null,
      sex: body.sex ?? null,
    });
    const match = toPatientMatch({
      profileId: profile.id,
      name: profile.name,
      profilePhone: profile.phone,
      dateOfBirth: profile.dateOfBirth,
      relation: profile.relation,
      isSelf: true,
      accountId: user.id,
      accountName: user.name,
      accountEmail: user.email,
      accountPhone: user.phone,
    });
    return { id: match.profileId, ...match };
  }
}
