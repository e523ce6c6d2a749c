// Care records (issue 14): medical history per patient profile, visit records with their earlier versions,
// prescriptions and attachments. Everything medical sits in `body`/`meta` bytea columns sealed with
// AES-256-GCM (src/lib/cipher.ts); `key_id` names the key each row is under so a rotation finds what is left.
// care_key_checks holds one known value per key: a wrong ENCRYPTION_KEY fails at start, not at first read.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table care_key_checks (
      key_id text primary key,
      sealed bytea not null,
      created_at timestamptz not null default now()
    );
    create table medical_histories (
      profile_id uuid primary key references patient_profiles (id) on delete cascade,
      key_id text not null,
      body bytea not null,
      updated_by uuid references users (id) on delete set null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index medical_histories_key_idx on medical_histories (key_id);
    create table visit_records (
      id uuid primary key,
      appointment_id uuid not null unique references appointments (id) on delete cascade,
      profile_id uuid not null references patient_profiles (id) on delete cascade,
      doctor_id uuid not null references doctors (id),
      version integer not null default 1,
      key_id text not null,
      body bytea not null,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index visit_records_profile_idx on visit_records (profile_id, created_at desc, id desc);
    create index visit_records_key_idx on visit_records (key_id);
    create table visit_record_versions (
      record_id uuid not null references visit_records (id) on delete cascade,
      version integer not null,
      key_id text not null,
      body bytea not null,
      replaced_by uuid references users (id) on delete set null,
      written_at timestamptz not null,
      primary key (record_id, version)
    );
    create index visit_record_versions_key_idx on visit_record_versions (key_id);
    create table prescriptions (
      id uuid primary key,
      record_id uuid not null references visit_records (id) on delete cascade,
      profile_id uuid not null references patient_profiles (id) on delete cascade,
      doctor_id uuid not null references doctors (id),
      key_id text not null,
      body bytea not null,
      verify_hash text not null,
      created_at timestamptz not null default now()
    );
    create index prescriptions_profile_idx on prescriptions (profile_id, created_at desc, id desc);
    create index prescriptions_record_idx on prescriptions (record_id);
    create index prescriptions_key_idx on prescriptions (key_id);
    create table record_attachments (
      id uuid primary key,
      record_id uuid not null references visit_records (id) on delete cascade,
      key_id text not null,
      meta bytea not null,
      content_type text not null,
      size_bytes integer not null,
      blob_key text not null,
      uploaded_by uuid references users (id) on delete set null,
      created_at timestamptz not null default now()
    );
    create index record_attachments_record_idx on record_attachments (record_id, created_at);
    create index record_attachments_key_idx on record_attachments (key_id);
    -- A patient's record-access list reads the audit entries about their profiles.
    create index audit_log_target_idx on audit_log (target_type, target_id, id desc);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index audit_log_target_idx;
    drop table record_attachments;
    drop table prescriptions;
    drop table visit_record_versions;
    drop table visit_records;
    drop table medical_histories;
    drop table care_key_checks;
  `.execute(db);
}
