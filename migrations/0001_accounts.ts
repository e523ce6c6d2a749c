import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create extension if not exists citext;

    create table users (
      id uuid primary key default gen_random_uuid(),
      email citext not null unique,
      phone text,
      password_hash text not null,
      role text not null check (role in ('patient', 'doctor', 'staff', 'admin')),
      name text not null check (length(name) between 1 and 200),
      hospital_id uuid,
      disabled_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index users_phone_idx on users (phone) where phone is not null;
    create index users_role_idx on users (role, created_at);

    create table refresh_tokens (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      family_id uuid not null,
      token_hash text not null unique,
      expires_at timestamptz not null,
      used_at timestamptz,
      revoked_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index refresh_tokens_family_idx on refresh_tokens (family_id);
    create index refresh_tokens_user_idx on refresh_tokens (user_id);

    create table patient_profiles (
      id uuid primary key default gen_random_uuid(),
      account_id uuid not null references users (id) on delete cascade,
      is_self boolean not null default false,
      name text not null check (length(name) between 1 and 200),
      relation text not null default 'self' check (relation in ('self', 'child', 'parent', 'spouse', 'sibling', 'other')),
      date_of_birth date,
      sex text check (sex in ('female', 'male', 'other')),
      phone text,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz
    );
    create unique index patient_profiles_one_self_idx on patient_profiles (account_id) where is_self;
    create index patient_profiles_account_idx on patient_profiles (account_id) where deleted_at is null;

    create table audit_log (
      id bigint generated always as identity primary key,
      actor_id uuid references users (id) on delete set null,
      action text not null,
      target_type text,
      target_id text,
      details jsonb,
      ip text,
      at timestamptz not null default now()
    );
    create index audit_log_at_idx on audit_log (at desc);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table audit_log; drop table patient_profiles; drop table refresh_tokens; drop table users;`.execute(
    db,
  );
}
