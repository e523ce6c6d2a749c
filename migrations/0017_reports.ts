// Reports (issue 15): the indexes that keep a report's reads proportional to the period asked for. A
// hospital's days by date, and the few queue events a report needs per appointment — the ETA shown at
// check-in or walk-in, and who cancelled — without reading every event of the day.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index session_days_hospital_date_idx on session_days (hospital_id, date);
    create index queue_events_report_idx on queue_events (queue_id, appointment_id, id)
      include (type, actor_id, data) where type in ('checked_in', 'walk_in', 'cancelled');
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index queue_events_report_idx;
    drop index session_days_hospital_date_idx;
  `.execute(db);
}
