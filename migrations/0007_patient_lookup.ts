// Trigram indexes for the front-desk patient lookup (GET /v1/patients), which matches a fragment anywhere in
// a name or a phone number (`like '%…%'`), on the profile and on its account. Each index is on the very
// expression patients.repository.ts compares; the query keeps those expressions word for word (literal
// constants, not parameters), or the planner cannot use them.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index patient_profiles_name_trgm_idx on patient_profiles using gin (lower(name) gin_trgm_ops);
    create index users_name_trgm_idx on users using gin (lower(name) gin_trgm_ops);
    create index patient_profiles_phone_digits_trgm_idx on patient_profiles
      using gin ((regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')) gin_trgm_ops);
    create index users_phone_digits_trgm_idx on users
      using gin ((regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g')) gin_trgm_ops);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop index users_phone_digits_trgm_idx; drop index patient_profiles_phone_digits_trgm_idx;
    drop index users_name_trgm_idx; drop index patient_profiles_name_trgm_idx;
  `.execute(db);
}
