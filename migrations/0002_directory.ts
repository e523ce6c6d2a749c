import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create extension if not exists pg_trgm;

    create table hospitals (
      id uuid primary key default gen_random_uuid(),
      name text not null,
      city text not null,
      address text not null default '',
      phone text,
      timezone text not null,
      quiet_start time not null default '21:00',
      quiet_end time not null default '08:00',
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz
    );
    create index hospitals_city_idx on hospitals (lower(city)) where deleted_at is null;
    create index hospitals_name_trgm_idx on hospitals using gin (name gin_trgm_ops);
    create index hospitals_active_name_idx on hospitals (name, id) where deleted_at is null;
    alter table users add constraint users_hospital_fk foreign key (hospital_id) references hospitals (id);

    create table specializations (
      id uuid primary key default gen_random_uuid(),
      name citext not null unique,
      created_at timestamptz not null default now()
    );
    create table qualifications (
      id uuid primary key default gen_random_uuid(),
      name citext not null unique,
      created_at timestamptz not null default now()
    );
    create table services (
      id uuid primary key default gen_random_uuid(),
      name citext not null unique,
      kind text not null default 'consultation' check (kind in ('consultation', 'check_up', 'lab_test', 'procedure', 'other')),
      duration_minutes integer not null default 15 check (duration_minutes between 1 and 600),
      fee numeric(10, 2) not null default 0 check (fee >= 0),
      created_at timestamptz not null default now()
    );

    create table doctors (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null unique references users (id) on delete cascade,
      name text not null,
      license_no citext unique,
      bio text not null default '',
      experience_years integer check (experience_years between 0 and 80),
      photo_url text,
      verified_at timestamptz,
      rating_sum integer not null default 0,
      rating_count integer not null default 0,
      visit_count integer not null default 0,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index doctors_name_trgm_idx on doctors using gin (name gin_trgm_ops);
    create index doctors_verified_name_idx on doctors (name, id) where verified_at is not null;

    -- Typo-tolerant name search at scale: the distinct words of doctors' names (a small vocabulary, matched
    -- by trigram similarity or substring) and which doctors carry each word. Kept by a trigger, so doctors
    -- created by any module (registration, admin) are searchable at once.
    create table search_words (word text primary key);
    create index search_words_trgm_idx on search_words using gin (word gin_trgm_ops);
    create table doctor_name_words (
      word text not null,
      doctor_id uuid not null references doctors (id) on delete cascade,
      primary key (word, doctor_id)
    );
    create index doctor_name_words_doctor_idx on doctor_name_words (doctor_id);
    create function doctor_name_words_sync() returns trigger language plpgsql as $fn$
    begin
      delete from doctor_name_words where doctor_id = new.id;
      insert into search_words (word)
        select distinct w from regexp_split_to_table(lower(new.name), '[\\s.,;:()/''"-]+') as w where length(w) >= 2
        on conflict do nothing;
      insert into doctor_name_words (word, doctor_id)
        select distinct w, new.id from regexp_split_to_table(lower(new.name), '[\\s.,;:()/''"-]+') as w
        where length(w) >= 2;
      return null;
    end
    $fn$;
    create trigger doctors_name_words after insert or update of name on doctors
      for each row execute function doctor_name_words_sync();

    create table doctor_specializations (
      doctor_id uuid not null references doctors (id) on delete cascade,
      specialization_id uuid not null references specializations (id) on delete cascade,
      primary key (doctor_id, specialization_id)
    );
    create index doctor_specializations_spec_idx on doctor_specializations (specialization_id);
    create table doctor_qualifications (
      id uuid primary key default gen_random_uuid(),
      doctor_id uuid not null references doctors (id) on delete cascade,
      qualification_id uuid not null references qualifications (id) on delete cascade,
      institute text not null default '',
      year integer check (year between 1900 and 2200)
    );
    create index doctor_qualifications_doctor_idx on doctor_qualifications (doctor_id);
    create index doctor_qualifications_qual_idx on doctor_qualifications (qualification_id);
    create table doctor_services (
      doctor_id uuid not null references doctors (id) on delete cascade,
      service_id uuid not null references services (id) on delete cascade,
      primary key (doctor_id, service_id)
    );
    create index doctor_services_service_idx on doctor_services (service_id);

    create table favorites (
      user_id uuid not null references users (id) on delete cascade,
      doctor_id uuid not null references doctors (id) on delete cascade,
      created_at timestamptz not null default now(),
      primary key (user_id, doctor_id)
    );
    create index favorites_user_created_idx on favorites (user_id, created_at desc, doctor_id);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table favorites; drop table doctor_name_words; drop table search_words; drop table doctor_services; drop table doctor_qualifications;
    drop table doctor_specializations; drop table doctors; drop function doctor_name_words_sync; drop table services; drop table qualifications;
    drop table specializations; alter table users drop constraint users_hospital_fk; drop table hospitals;
  `.execute(db);
}
