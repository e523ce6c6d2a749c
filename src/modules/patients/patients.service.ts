// Patient lookup for the front desk (by name, e-mail or phone) and registering a walk-in patient on the spot.

import { randomBytes, randomUUID } from 'node:crypto';
import type { Static } from '@sinclair/typebox';
import type { CountryCode } from 'libphonenumber-js';
import type { Clock } from '../../clock.js';
import type { DB } from '../../db/database.js';
import { AppError } from '../../errors.js';
import { hashPassword } from '../../lib/password.js';
import { checkDateOfBirth } from '../../lib/people.js';
import { toE164 } from '../../lib/phone.js';
import { decodeCursor, encodeCursor } from '../../lib/schema.js';
import type { Principal } from '../../plugins/auth.js';
import * as repo from './patients.repository.js';
import type { PatientCreateSchema, PatientQuerySchema } from './patients.schema.js';

/**
 * Accounts the desk registers without an e-mail address get a unique address in the reserved `.invalid` domain
 * (users.email is required and unique); it never receives mail and is shown as null.
 */
export const NO_EMAIL_DOMAIN = 'no-email.invalid';

const PHONE_LIKE = /^[+\d\s().-]+$/;
const MIN_PHONE_DIGITS = 4;

export interface PatientsDeps {
  db: DB;
  clock: Clock;
  phoneRegion: string;
}

export interface Actor {
  id: string;
  ip?: string;
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
    accountEmail: row.accountEmail.endsWith(`@${NO_EMAIL_DOMAIN}`) ? null : row.accountEmail,
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
   * A patient account with a random password and its own profile, so the patient owns their bookings and
   * messages reach their own phone or e-mail; they can take the account over later with the same e-mail.
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
    const email = body.email ?? `desk-${randomUUID()}@${NO_EMAIL_DOMAIN}`;
    const passwordHash = await hashPassword(randomBytes(24).toString('base64url'));
    const created = await this.deps.db.transaction().execute(async (trx) => {
      if (await repo.emailTaken(trx, email)) {
        throw new AppError('CONFLICT', 'An account with this e-mail already exists; search for it instead', [
          { field: 'body.email', message: 'is already registered' },
        ]);
      }
      const account = await repo.insertPatientAccount(trx, { email, passwordHash, name: body.name, phone });
      const profile = await repo.insertSelfProfile(trx, {
        accountId: account.id,
        name: body.name,
        phone,
        dateOfBirth: body.dateOfBirth ?? null,
        sex: body.sex ?? null,
      });
      if (!body.email) await repo.preferSmsOnly(trx, account.id);
      await repo.insertAudit(trx, {
        actorId: actor.id,
        action: 'patient.registered_at_desk',
        targetType: 'user',
        targetId: account.id,
        ip: actor.ip,
      });
      return { account, profile };
    });
    const match = toPatientMatch({
      profileId: created.profile.id,
      name: created.profile.name,
      profilePhone: created.profile.phone,
      dateOfBirth: created.profile.dateOfBirth,
      relation: created.profile.relation,
      isSelf: true,
      accountId: created.account.id,
      accountName: created.account.name,
      accountEmail: created.account.email,
      accountPhone: created.account.phone,
    });
    return { id: match.profileId, ...match };
  }
}
