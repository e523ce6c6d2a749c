// At most one patient is being served per session day (design §2): call-next completes the visit in
// progress, and the database refuses a second `called` entry on one day. Days that already hold several
// keep the most recently called one; the others were seen and are marked completed. Also the indexes that
// keep a change's reads independent of the queue's length: a day's last consults (the rolling average),
// and whom call-next calls past absent, late patients (day.repository firstCallable).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    update appointments a set status = 'completed', completed_at = coalesce(a.called_at, a.updated_at)
    where a.status = 'called' and exists (
      select 1 from appointments b where b.queue_id = a.queue_id and b.status = 'called'
        and (b.called_at > a.called_at or (b.called_at = a.called_at and b.id > a.id)));
    update session_days d set now_serving = (
      select a.serial from appointments a where a.queue_id = d.id and a.status = 'called');
    create unique index appointments_one_called_idx on appointments (queue_id) where status = 'called';
    create index appointments_recent_consults_idx on appointments (queue_id, completed_at desc)
      where status = 'completed';
    -- The waiting line's order ends in the id (the projection's tie order): with it in the index, the front of
    -- a line of 10,000 is read without sorting the line.
    drop index appointments_waiting_line_idx;
    create index appointments_waiting_line_idx on appointments (queue_id, priority desc, position_key, id)
      where status in ('booked','confirmed','checked_in');
    create index appointments_checked_in_line_idx on appointments (queue_id, priority desc, position_key, id)
      where status = 'checked_in';
    create index appointments_booked_time_idx on appointments (queue_id, estimated_at, position_key)
      where status in ('booked', 'confirmed');
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index appointments_waiting_line_idx;
    create index appointments_waiting_line_idx on appointments (queue_id, priority desc, position_key)
      where status in ('booked','confirmed','checked_in');
    drop index appointments_booked_time_idx;
    drop index appointments_checked_in_line_idx;
    drop index appointments_recent_consults_idx;
    drop index appointments_one_called_idx;
  `.execute(db);
}
