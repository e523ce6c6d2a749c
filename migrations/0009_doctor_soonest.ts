// Each doctor's earliest bookable day, for sort=soonest. Computing it per candidate on every search cost about
// 25 µs of database time per doctor (a quarter of a second for all 10,000); stored, the order is a key
// lookup. The app writes it (directory/soonest.repository.ts): it depends on the app clock and the booking
// rules, so it is refreshed after every change that moves it and once a minute as time passes.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table doctor_soonest (
      doctor_id uuid primary key references doctors (id) on delete cascade,
      day date
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table doctor_soonest`.execute(db);
}
