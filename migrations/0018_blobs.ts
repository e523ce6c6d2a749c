// The shared blob store (files module): uploaded bytes every instance reads, keyed by the caller's own key.
// The size check also lives in the database, so a writer that skipped the store's check cannot go past it.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table blobs (
      key text primary key,
      content_type text not null,
      bytes bytea not null,
      size integer not null check (size >= 0 and size <= 10485760 and size = octet_length(bytes)),
      created_at timestamptz not null default now()
    )
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop table blobs`.execute(db);
}
