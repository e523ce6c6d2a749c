// Schedule rules as SQL fragments for other modules' read queries (the directory's search and soonest day):
// what a schedule means, stated once by the module that owns sessions and time off, without handing out its
// repository. Fragments only: nothing here runs a query or writes.
import { type Expression, type RawBuilder, sql } from 'kysely';

/**
 * True when time off of the doctor covers the session at `hospitalId` on `date`: a range entered by the
 * doctor or an admin (no hospital) covers every session, one entered at a hospital's desk only that
 * hospital's. The one statement of the rule in SQL.
 */
export function timeOffCovers(
  doctorId: Expression<string> | RawBuilder<unknown>,
  hospitalId: Expression<string> | RawBuilder<unknown>,
  date: Expression<string> | RawBuilder<unknown>,
): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from time_off t where t.doctor_id = ${doctorId}
    and (t.hospital_id is null or t.hospital_id = ${hospitalId})
    and t.from_date <= ${date} and t.to_date >= ${date})`;
}

/**
 * True when the session (alias `s`) may be offered and booked at all: its hospital confirmed it and its doctor
 * is verified. The SQL form of bookingRefusal's first two checks (schedule.rules.ts).
 */
export const SESSION_LISTED = sql<boolean>`(s.confirmed_at is not null
    and exists (select 1 from doctors dv where dv.id = s.doctor_id and dv.verified_at is not null))`;
