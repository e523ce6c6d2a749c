// Hospital scoping of schedules. A time-off row entered at a hospital's desk carries that hospital and covers
// only its sessions (null: entered by the doctor or an admin, covering all of them). A session the doctor
// creates is pending until that hospital's staff or an admin confirms it; only confirmed sessions of verified
// doctors are bookable or listed. Sessions that exist now, and rows written outside the API (seeds,
// imports), count as confirmed: the column defaults to the time of the insert, and the API sets it itself.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table time_off add column hospital_id uuid references hospitals (id);
    alter table sessions add column confirmed_at timestamptz default now();
    alter table sessions add column confirmed_by uuid references users (id);
    create index sessions_pending_idx on sessions (hospital_id, created_at)
      where confirmed_at is null and deleted_at is null;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index sessions_pending_idx;
    alter table sessions drop column confirmed_by;
    alter table sessions drop column confirmed_at;
    alter table time_off drop column hospital_id;
  `.execute(db);
}
