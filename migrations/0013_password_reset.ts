// Password reset: one row per request, holding only a hash of what was sent (a SHA-256 of the e-mailed link's
// token, which is looked up by it; an scrypt hash of the 6-digit SMS code, which is short enough to guess
// offline from a fast hash). Used once, short-lived, and an SMS code dies after a few wrong tries.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table password_resets (
      id uuid primary key default gen_random_uuid(),
      user_id uuid not null references users (id) on delete cascade,
      channel text not null check (channel in ('email', 'sms')),
      secret_hash text not null,
      attempts integer not null default 0,
      expires_at timestamptz not null,
      used_at timestamptz,
      created_at timestamptz not null
    );
    create unique index password_resets_token_idx on password_resets (secret_hash) where channel = 'email';
    create index password_resets_user_idx on password_resets (user_id, created_at);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table password_resets;`.execute(db);
}
