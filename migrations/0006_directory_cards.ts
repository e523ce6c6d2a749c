// The two list-card arrays of a doctor, kept on the doctor's row so a search page reads them with the row
// instead of running two joined sub-queries per result (a third of a search's database time at 10k doctors).
// - doctors.specialization_names: kept by triggers on doctor_specializations and on renames of specializations.
// - doctors.city_names: the display cities of the doctor's live sessions, refreshed by doctor_cities_refresh
//   (migration 0005), which every session and hospital change already calls.
// Both refreshes take the per-doctor advisory lock of 0005 first: under READ COMMITTED the recompute then runs
// on a fresh snapshot that includes a concurrent writer's committed rows, so the last writer's arrays are right.
// The doctor row update is a no-key update: it does not conflict with the key-share lock a booking holds.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table doctors
      add column specialization_names text[] not null default '{}',
      add column city_names text[] not null default '{}';

    create function doctor_specialization_names_refresh(ids uuid[]) returns void language plpgsql as $fn$
    begin
      perform pg_advisory_xact_lock(727100, hashtext(i::text)) from unnest(ids) as i order by i;
      update doctors d set specialization_names = array(
        select sp.name::text from doctor_specializations ds join specializations sp on sp.id = ds.specialization_id
        where ds.doctor_id = d.id order by sp.name)
      where d.id = any(ids);
    end
    $fn$;
    create function doctor_specializations_names_changed() returns trigger language plpgsql as $fn$
    begin
      if tg_op = 'INSERT' then
        perform doctor_specialization_names_refresh(array(select distinct doctor_id from new_rows));
      else
        perform doctor_specialization_names_refresh(array(select distinct doctor_id from old_rows));
      end if;
      return null;
    end
    $fn$;
    create trigger doctor_specializations_names_insert after insert on doctor_specializations
      referencing new table as new_rows for each statement execute function doctor_specializations_names_changed();
    create trigger doctor_specializations_names_delete after delete on doctor_specializations
      referencing old table as old_rows for each statement execute function doctor_specializations_names_changed();
    create function specializations_renamed() returns trigger language plpgsql as $fn$
    begin
      perform doctor_specialization_names_refresh(array(
        select ds.doctor_id from doctor_specializations ds where ds.specialization_id = new.id));
      return null;
    end
    $fn$;
    create trigger specializations_renamed after update of name on specializations
      for each row when (old.name is distinct from new.name) execute function specializations_renamed();

    create or replace function doctor_cities_refresh(ids uuid[]) returns void language plpgsql as $fn$
    begin
      perform pg_advisory_xact_lock(727100, hashtext(i::text)) from unnest(ids) as i order by i;
      delete from doctor_cities where doctor_id = any(ids);
      insert into doctor_cities (city, doctor_id)
        select distinct lower(h.city), s.doctor_id from sessions s join hospitals h on h.id = s.hospital_id
        where s.doctor_id = any(ids) and s.deleted_at is null and h.deleted_at is null
        on conflict do nothing;
      update doctors d set city_names = array(
        select distinct h.city from sessions s join hospitals h on h.id = s.hospital_id
        where s.doctor_id = d.id and s.deleted_at is null and h.deleted_at is null order by h.city)
      where d.id = any(ids);
    end
    $fn$;

    update doctors d set
      specialization_names = array(
        select sp.name::text from doctor_specializations ds join specializations sp on sp.id = ds.specialization_id
        where ds.doctor_id = d.id order by sp.name),
      city_names = array(
        select distinct h.city from sessions s join hospitals h on h.id = s.hospital_id
        where s.doctor_id = d.id and s.deleted_at is null and h.deleted_at is null order by h.city);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    create or replace function doctor_cities_refresh(ids uuid[]) returns void language plpgsql as $fn$
    begin
      perform pg_advisory_xact_lock(727100, hashtext(i::text)) from unnest(ids) as i order by i;
      delete from doctor_cities where doctor_id = any(ids);
      insert into doctor_cities (city, doctor_id)
        select distinct lower(h.city), s.doctor_id from sessions s join hospitals h on h.id = s.hospital_id
        where s.doctor_id = any(ids) and s.deleted_at is null and h.deleted_at is null
        on conflict do nothing;
    end
    $fn$;
    drop trigger specializations_renamed on specializations; drop function specializations_renamed;
    drop trigger doctor_specializations_names_delete on doctor_specializations;
    drop trigger doctor_specializations_names_insert on doctor_specializations;
    drop function doctor_specializations_names_changed; drop function doctor_specialization_names_refresh;
    alter table doctors drop column city_names, drop column specialization_names;
  `.execute(db);
}
