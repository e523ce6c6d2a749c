// The booking outline: the one read before a booking's transaction (the statements under the locks are the
// day ledger's, in day.repository.ts).
import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';
import { PREPARED } from '../../db/prepared-pool.js';
import { type BookingSession, pickSession, SESSION_RULE_COLUMNS } from '../day/day.queries.js';
import { ACTIVE } from './appointments.repository.js';

export interface BookingOutline {
  /** Null when there is no such live session. */
  session: BookingSession | null;
  /** The day's queue row as it stood, when it exists. */
  day: { id: string; startsAt: Date; status: string; bookedCount: number; capacity: number } | null;
  /** The session's rules as read (day_session_rules_tag): a booking by one statement checks them unchanged. */
  rulesTag: string | null;
  onTimeOff: boolean;
  duplicateId: string | null;
  profile: { name: string; accountId: string } | null;
  serviceOk: boolean;
  idempotency: { requestHash: string; response: unknown } | null;
}

/**
 * Everything the refusals before the transaction need, in one round trip: the session with its hospital and
 * doctor, the day's queue row, time off on the date, an active booking of the profile with the doctor that
 * day, the profile, the service and an earlier use of the Idempotency-Key. Always one row.
 */
export async function bookingOutline(
  db: Executor,
  q: {
    sessionId: string;
    date: string;
    profileId: string;
    serviceId: string | null;
    userId: string;
    idempotencyKey: string | null;
  },
): Promise<BookingOutline> {
  const { rows } = await sql<
    Partial<BookingSession> & {
      queueId: string | null;
      dayStartsAt: Date | null;
      dayStatus: string | null;
      dayBookedCount: number | null;
      dayCapacity: number | null;
      onTimeOff: boolean | null;
      duplicateId: string | null;
      profileName: string | null;
      profileAccountId: string | null;
      serviceOk: boolean;
      idemHash: string | null;
      idemResponse: unknown;
      rulesTag: string | null;
    }
  >`${sql.raw(PREPARED)}
    select ${SESSION_RULE_COLUMNS},
      q.id as queue_id, q.starts_at as day_starts_at, q.status as day_status,
      q.booked_count as day_booked_count, q.capacity as day_capacity,
      exists (select 1 from time_off t where t.doctor_id = s.doctor_id
              and (t.hospital_id is null or t.hospital_id = s.hospital_id)
              and t.from_date <= ${q.date}::date and t.to_date >= ${q.date}::date) as on_time_off,
      (select a.id from appointments a where a.profile_id = ${q.profileId}::uuid and a.doctor_id = s.doctor_id
         and a.date = ${q.date}::date and a.status in (${sql.join([...ACTIVE])}) limit 1) as duplicate_id,
      p.name as profile_name, p.account_id as profile_account_id,
      (${q.serviceId}::uuid is null or exists (select 1 from services sv where sv.id = ${q.serviceId}::uuid))
        as service_ok,
      k.request_hash as idem_hash, k.response as idem_response,
      case when s.id is not null then day_session_rules_tag(s.id) end as rules_tag
    from (select 1) as one
    left join sessions s on s.id = ${q.sessionId}::uuid and s.deleted_at is null
    left join hospitals h on h.id = s.hospital_id
    left join doctors d on d.id = s.doctor_id
    left join session_days q on q.session_id = s.id and q.date = ${q.date}::date
    left join patient_profiles p on p.id = ${q.profileId}::uuid
    left join idempotency_keys k on k.user_id = ${q.userId}::uuid and k.key = ${q.idempotencyKey}::text
  `.execute(db);
  const r = rows[0];
  return {
    session: r.id ? (pickSession(r) as BookingSession) : null,
    day:
      r.queueId && r.dayStartsAt && r.dayStatus
        ? {
            id: r.queueId,
            startsAt: r.dayStartsAt,
            status: r.dayStatus,
            bookedCount: Number(r.dayBookedCount),
            capacity: Number(r.dayCapacity),
          }
        : null,
    rulesTag: r.rulesTag,
    onTimeOff: r.onTimeOff === true,
    duplicateId: r.duplicateId,
    profile:
      r.profileName !== null && r.profileAccountId
        ? { name: r.profileName, accountId: r.profileAccountId }
        : null,
    serviceOk: r.serviceOk,
    idempotency: r.idemHash ? { requestHash: r.idemHash, response: r.idemResponse } : null,
  };
}
