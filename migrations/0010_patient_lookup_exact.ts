// The desk lookup's other two forms, by index: an e-mail prefix (`lower(email::text) like 'x%'`, which the
// citext unique index cannot serve) and a whole phone number on a profile (the account's has an index since
// 0001). The query keeps the expression word for word (patients.repository.ts).
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create index users_email_prefix_idx on users (lower(email::text) text_pattern_ops);
    create index patient_profiles_phone_idx on patient_profiles (phone) where phone is not null;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index patient_profiles_phone_idx; drop index users_email_prefix_idx;`.execute(db);
}
