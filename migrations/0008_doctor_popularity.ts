// Popularity and rating orders read from the doctor's row and from an index, instead of counting every
// candidate's completed visits of the last 90 days on each request (a cost that grew with the appointments).
// - doctors.recent_visits: completed visits in the last 90 days. The visit-count triggers of 0005 now also move
//   it as visits complete or are undone; a periodic job (DoctorsService.refreshPopularity) recounts it exactly
//   by the app clock, which drops visits older than 90 days.
// - Two partial indexes on the exact sort keys of sort=popular and sort=rating (doctors.repository.ts), so a
//   page of either order is an index range of verified doctors.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table doctors add column recent_visits integer not null default 0;

    create or replace function doctors_visit_count_insert() returns trigger language plpgsql as $fn$
    begin
      update doctors d set visit_count = d.visit_count + c.n, recent_visits = d.recent_visits + c.recent
      from (select doctor_id, count(*)::int as n,
          count(*) filter (where completed_at >= now() - interval '90 days')::int as recent
        from new_rows where status = 'completed' group by doctor_id) c
      where d.id = c.doctor_id;
      return null;
    end
    $fn$;
    create or replace function doctors_visit_count_delete() returns trigger language plpgsql as $fn$
    begin
      update doctors d set visit_count = d.visit_count - c.n, recent_visits = greatest(0, d.recent_visits - c.recent)
      from (select doctor_id, count(*)::int as n,
          count(*) filter (where completed_at >= now() - interval '90 days')::int as recent
        from old_rows where status = 'completed' group by doctor_id) c
      where d.id = c.doctor_id;
      return null;
    end
    $fn$;
    create or replace function doctors_visit_count_update() returns trigger language plpgsql as $fn$
    begin
      if old.status = 'completed' then
        update doctors set visit_count = visit_count - 1,
          recent_visits = greatest(0, recent_visits - coalesce((old.completed_at >= now() - interval '90 days')::int, 0))
        where id = old.doctor_id;
      end if;
      if new.status = 'completed' then
        update doctors set visit_count = visit_count + 1,
          recent_visits = recent_visits + coalesce((new.completed_at >= now() - interval '90 days')::int, 1)
        where id = new.doctor_id;
      end if;
      return null;
    end
    $fn$;
    update doctors d set recent_visits = c.n
    from (select doctor_id, count(*)::int as n from appointments
      where status = 'completed' and completed_at >= now() - interval '90 days' group by doctor_id) c
    where d.id = c.doctor_id;

    create index doctors_popular_idx on doctors
      ((-(recent_visits * 10 + coalesce(rating_sum::float8 / nullif(rating_count, 0), 0::float8))), name, id)
      where verified_at is not null;
    create index doctors_rating_idx on doctors
      ((coalesce(-(rating_sum::float8 / nullif(rating_count, 0)), 1000000000::float8)), name, id)
      where verified_at is not null;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index doctors_rating_idx; drop index doctors_popular_idx;
    create or replace function doctors_visit_count_insert() returns trigger language plpgsql as $fn$
    begin
      update doctors d set visit_count = d.visit_count + c.n
      from (select doctor_id, count(*)::int as n from new_rows where status = 'completed' group by doctor_id) c
      where d.id = c.doctor_id;
      return null;
    end
    $fn$;
    create or replace function doctors_visit_count_delete() returns trigger language plpgsql as $fn$
    begin
      update doctors d set visit_count = d.visit_count - c.n
      from (select doctor_id, count(*)::int as n from old_rows where status = 'completed' group by doctor_id) c
      where d.id = c.doctor_id;
      return null;
    end
    $fn$;
    create or replace function doctors_visit_count_update() returns trigger language plpgsql as $fn$
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
    alter table doctors drop column recent_visits;
  `.execute(db);
}
