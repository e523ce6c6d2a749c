// Kysely queries of the reminder scan: its watermark row and the index-backed search for due reminders.
import { sql } from 'kysely';
import type { Executor } from '../../db/database.js';

/** Locks the scanner's watermark row; undefined when another instance is scanning right now. */
export function lockScanState(db: Executor, name: string) {
  return db
    .selectFrom('notificationScanState')
    .selectAll()
    .where('name', '=', name)
    .forUpdate()
    .skipLocked()
    .executeTakeFirst();
}

export async function ensureScanState(db: Executor, name: string, at: Date): Promise<void> {
  await db
    .insertInto('notificationScanState')
    .values({ name, scannedUntil: at, updatedAt: at })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

export async function advanceScanState(db: Executor, name: string, until: Date): Promise<void> {
  await db
    .updateTable('notificationScanState')
    .set({ scannedUntil: until, updatedAt: until })
    .where('name', '=', name)
    .execute();
}

export async function distinctOffsets(db: Executor): Promise<number[]> {
  const { rows } = await sql<{ offset: number }>`
    select distinct unnest(reminder_offsets) as "offset" from notification_preferences
  `.execute(db);
  return rows.map((r) => Number(r.offset));
}

export interface ReminderCandidate {
  appointmentId: string;
  offsetMinutes: number;
  estimatedAt: Date;
  timezone: string;
  /** When the reminder goes out: whole days are calendar days in the hospital's zone. */
  at: Date;
}

/**
 * Reminders whose send time falls in (from, to] for active booked appointments. The index range is widened
 * by 3 hours for whole-day offsets (a DST change moves them); the exact calendar-day time is computed in
 * the hospital's zone and filtered here, so only due rows leave the database. The range predicate and the
 * status list match appointments_reminder_scan_idx.
 */
export async function reminderCandidates(
  db: Executor,
  range: { from: Date; to: Date; now: Date },
  offsets: number[],
  defaults: number[],
): Promise<ReminderCandidate[]> {
  if (offsets.length === 0) return [];
  const { rows } = await sql<ReminderCandidate>`
    select * from (
      select a.id as "appointmentId", o.off as "offsetMinutes", a.estimated_at as "estimatedAt",
             h.timezone as "timezone",
             case when o.off % 1440 = 0
                  then ((a.estimated_at at time zone h.timezone) - make_interval(days => o.off / 1440))
                         at time zone h.timezone
                  else a.estimated_at - make_interval(mins => o.off) end as "at"
        from unnest(${sql.val(offsets)}::int[]) as o(off)
        join appointments a
          on a.estimated_at > ${range.from}::timestamptz
               + make_interval(mins => o.off - case when o.off % 1440 = 0 then 180 else 0 end)
         and a.estimated_at <= ${range.to}::timestamptz
               + make_interval(mins => o.off + case when o.off % 1440 = 0 then 180 else 0 end)
         and a.status in ('booked', 'confirmed', 'checked_in')
        join session_days q on q.id = a.queue_id
        join hospitals h on h.id = q.hospital_id
        left join patient_profiles pp on pp.id = a.profile_id
        left join notification_preferences np on np.user_id = pp.account_id
       where a.kind = 'booked'
         and a.estimated_at > ${range.now}::timestamptz
         and o.off = any(coalesce(np.reminder_offsets, ${sql.val(defaults)}::int[]))
    ) c
    where c."at" > ${range.from}::timestamptz and c."at" <= ${range.to}::timestamptz
  `.execute(db);
  return rows.map((r) => ({
    ...r,
    offsetMinutes: Number(r.offsetMinutes),
    estimatedAt: new Date(r.estimatedAt),
    at: new Date(r.at),
  }));
}
