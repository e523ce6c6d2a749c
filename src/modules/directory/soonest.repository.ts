// The stored earliest bookable day of each doctor (table doctor_soonest, migration 0009) behind sort=soonest,
// recomputed set-based for some doctors or all of them.
import { type RawBuilder, sql } from 'kysely';
import type { DB, Executor } from '../../db/database.js';
import { SESSION_LISTED, timeOffCovers } from '../schedule/schedule.queries.js';

/** Which doctors to recompute: these, the doctors of these queue days, or (neither) every doctor. */
export interface SoonestScope {
  doctorIds?: string[];
  queueIds?: string[];
}

/** Advisory lock key: one instance at a time recomputes every doctor. */
const REFRESH_ALL_LOCK = 727_102;

function targets(scope: SoonestScope): RawBuilder<unknown> {
  if (scope.doctorIds) return sql`select d.id from doctors d where d.id = any(${scope.doctorIds}::uuid[])`;
  if (scope.queueIds)
    return sql`select distinct q.doctor_id as id from session_days q where q.id = any(${scope.queueIds}::uuid[])`;
  return sql`select d.id from doctors d`;
}

/**
 * Recomputes the earliest local date in the next 30 days (in each hospital's zone) that a patient could book
 * at `now`, by the same rules as booking (schedule.rules.ts): a session day within the session's booking
 * window (booking_opens_days ahead) and validity, of a confirmed session of a verified doctor, not yet closed
 * for booking (booking_closes_minutes before it starts), not on time off covering that hospital, and with
 * room: its queue is not created yet, or is neither closed nor cancelled and has places left. Only a session's own weekdays are visited: the first from today, then weekly. Writes
 * only rows that change.
 */
export async function refreshSoonest(db: Executor, now: Date, scope: SoonestScope = {}): Promise<void> {
  await sql`
    with hospital_today as materialized (
      select h.id, h.timezone, (${now}::timestamptz at time zone h.timezone)::date as today
      from hospitals h where h.deleted_at is null),
    target as materialized (${targets(scope)}),
    days as (
      select s.doctor_id, s.hospital_id, s.id as session_id, w.day, ht.today, ht.timezone, s.capacity,
        s.start_time, s.booking_closes_minutes
      from target t join sessions s on s.doctor_id = t.id join hospital_today ht on ht.id = s.hospital_id
        cross join lateral (
          select ht.today + (s.weekday - extract(isodow from ht.today)::int + 7) % 7 + 7 * k as day
          from generate_series(0, 4) as k) w
      where s.deleted_at is null and ${SESSION_LISTED} and w.day <= ht.today + least(29, s.booking_opens_days)
        and (s.valid_from is null or w.day >= s.valid_from) and (s.valid_to is null or w.day <= s.valid_to)),
    free as (
      select c.doctor_id, min(c.day) as day
      from days c left join session_days sd on sd.session_id = c.session_id and sd.date = c.day
      where not ${timeOffCovers(sql.ref('c.doctor_id'), sql.ref('c.hospital_id'), sql.ref('c.day'))}
        and ((c.day - c.today - 1) * 1440 > c.booking_closes_minutes
          or coalesce(sd.starts_at, (c.day + c.start_time) at time zone c.timezone)
            > ${now}::timestamptz + make_interval(mins => c.booking_closes_minutes))
        and (case when sd.id is null then c.capacity > 0
          else sd.booked_count < sd.capacity and sd.status not in ('closed', 'cancelled') end)
      group by c.doctor_id)
    insert into doctor_soonest (doctor_id, day)
    select t.id, f.day from target t left join free f on f.doctor_id = t.id
    on conflict (doctor_id) do update set day = excluded.day
      where doctor_soonest.day is distinct from excluded.day`.execute(db);
}

/**
 * Recomputes every doctor unless another instance is doing so right now (its result will do); says whether
 * this one did.
 */
export function refreshAllSoonest(db: DB, now: Date): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(${REFRESH_ALL_LOCK}) as locked`.execute(trx);
    if (!rows[0]?.locked) return false;
    await refreshSoonest(trx, now);
    return true;
  });
}
