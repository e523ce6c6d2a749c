// doctors.visit_count kept by triggers on appointments (every writer: queue, seeds, fixtures), so list cards read
// a column instead of counting a doctor's visits on each request. Its own migration: appointments is created
// after the directory (0003). Inserts and deletes are statement-level over transition tables, so bulk loads pay
// one aggregate update; status changes are row-level behind a WHEN that skips every non-completing update.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function doctors_visit_count_insert() returns trigger language plpgsql as $fn$
    begin
      update doctors d set visit_count = d.visit_count + c.n
      from (select doctor_id, count(*)::int as n from new_rows where status = 'completed' group by doctor_id) c
      where d.id = c.doctor_id;
      return null;
    end
    $fn$;
    create function doctors_visit_count_delete() returns trigger language plpgsql as $fn$
    begin
      update doctors d set visit_count = d.visit_count - c.n
      from (select doctor_id, count(*)::int as n from old_rows where status = 'completed' group by doctor_id) c
      where d.id = c.doctor_id;
      return null;
    end
    $fn$;
    create function doctors_visit_count_update() returns trigger language plpgsql as $fn$
    begin
      if old.status = 'completed' then
        update doctors set visit_count = visit_count - 1 where id = old.doctor_id;
      end if;
      if new.status = 'completed' then
        update doctors set visit_count = visit_count + 1 where id = new.doctor_id;
      end if;
      return null;
    end
    $fn$;
    create trigger appointments_visit_count_insert after insert on appointments
      referencing new table as new_rows for each statement execute function doctors_visit_count_insert();
    create trigger appointments_visit_count_delete after delete on appointments
      referencing old table as old_rows for each statement execute function doctors_visit_count_delete();
    create trigger appointments_visit_count_update after update of status, doctor_id on appointments
      for each row
      when ((old.status = 'completed' or new.status = 'completed')
        and (old.status is distinct from new.status or old.doctor_id is distinct from new.doctor_id))
      execute function doctors_visit_count_update();
    update doctors d set visit_count = (
      select count(*) from appointments a where a.doctor_id = d.id and a.status = 'completed');
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop trigger appointments_visit_count_update on appointments;
    drop trigger appointments_visit_count_delete on appointments;
    drop trigger appointments_visit_count_insert on appointments;
    drop function doctors_visit_count_update; drop function doctors_visit_count_delete;
    drop function doctors_visit_count_insert;
  `.execute(db);
}
