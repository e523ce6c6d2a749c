// Directory read models kept by triggers on tables the directory does not write, so every writer (schedule,
// queue, seeds, fixtures) keeps them right; a migration of its own because those tables come after 0002.
// - doctors.visit_count: completed appointments, read by list cards instead of a count per request. Inserts and
//   deletes are statement-level over transition tables (a bulk load pays one aggregate update); status changes
//   are row-level behind a WHEN that skips every update that neither completes nor un-completes a visit.
// - doctor_cities: the (lower-cased) cities where a doctor holds a live session, so a city filter is an index
//   range that search can intersect with the name matches instead of walking sessions and hospitals.
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

    create table doctor_cities (
      city text not null,
      doctor_id uuid not null references doctors (id) on delete cascade,
      primary key (city, doctor_id)
    );
    create index doctor_cities_doctor_idx on doctor_cities (doctor_id, city);
    -- Recomputes the cities of these doctors. A per-doctor advisory lock, taken in id order, makes concurrent
    -- refreshes of one doctor run one after the other, so the later one reads the earlier one's committed rows.
    create function doctor_cities_refresh(ids uuid[]) returns void language plpgsql as $fn$
    begin
      perform pg_advisory_xact_lock(727100, hashtext(i::text)) from unnest(ids) as i order by i;
      delete from doctor_cities where doctor_id = any(ids);
      insert into doctor_cities (city, doctor_id)
        select distinct lower(h.city), s.doctor_id from sessions s join hospitals h on h.id = s.hospital_id
        where s.doctor_id = any(ids) and s.deleted_at is null and h.deleted_at is null
        on conflict do nothing;
    end
    $fn$;
    create function sessions_cities_insert() returns trigger language plpgsql as $fn$
    begin
      perform doctor_cities_refresh(array(select distinct doctor_id from new_rows));
      return null;
    end
    $fn$;
    create function sessions_cities_delete() returns trigger language plpgsql as $fn$
    begin
      perform doctor_cities_refresh(array(select distinct doctor_id from old_rows));
      return null;
    end
    $fn$;
    create function sessions_cities_update() returns trigger language plpgsql as $fn$
    begin
      perform doctor_cities_refresh(array(
        select o.doctor_id from old_rows o join new_rows n on n.id = o.id
        where o.doctor_id is distinct from n.doctor_id or o.hospital_id is distinct from n.hospital_id
          or o.deleted_at is distinct from n.deleted_at
        union select n.doctor_id from old_rows o join new_rows n on n.id = o.id
        where o.doctor_id is distinct from n.doctor_id or o.hospital_id is distinct from n.hospital_id
          or o.deleted_at is distinct from n.deleted_at));
      return null;
    end
    $fn$;
    create function hospitals_cities_update() returns trigger language plpgsql as $fn$
    begin
      perform doctor_cities_refresh(array(select distinct doctor_id from sessions where hospital_id = new.id));
      return null;
    end
    $fn$;
    create trigger sessions_cities_insert after insert on sessions
      referencing new table as new_rows for each statement execute function sessions_cities_insert();
    create trigger sessions_cities_delete after delete on sessions
      referencing old table as old_rows for each statement execute function sessions_cities_delete();
    create trigger sessions_cities_update after update on sessions
      referencing old table as old_rows new table as new_rows
      for each statement execute function sessions_cities_update();
    create trigger hospitals_cities_update after update of city, deleted_at on hospitals
      for each row when (old.city is distinct from new.city or old.deleted_at is distinct from new.deleted_at)
      execute function hospitals_cities_update();
    insert into doctor_cities (city, doctor_id)
      select distinct lower(h.city), s.doctor_id from sessions s join hospitals h on h.id = s.hospital_id
      where s.deleted_at is null and h.deleted_at is null;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop trigger hospitals_cities_update on hospitals; drop trigger sessions_cities_update on sessions;
    drop trigger sessions_cities_delete on sessions; drop trigger sessions_cities_insert on sessions;
    drop function hospitals_cities_update; drop function sessions_cities_update; drop function sessions_cities_delete;
    drop function sessions_cities_insert; drop function doctor_cities_refresh; drop table doctor_cities;
    drop trigger appointments_visit_count_update on appointments;
    drop trigger appointments_visit_count_delete on appointments;
    drop trigger appointments_visit_count_insert on appointments;
    drop function doctors_visit_count_update; drop function doctors_visit_count_delete;
    drop function doctors_visit_count_insert;
  `.execute(db);
}
