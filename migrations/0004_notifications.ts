import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table notification_outbox (
      id uuid primary key default gen_random_uuid(),
      dedupe_key text not null unique,
      kind text not null,
      channel text not null check (channel in ('sms', 'email')),
      recipient text not null,
      user_id uuid references users (id) on delete set null,
      appointment_id uuid references appointments (id) on delete set null,
      hospital_id uuid references hospitals (id) on delete set null,
      language text not null default 'en',
      payload jsonb not null default '{}',
      urgent boolean not null default false,
      send_after timestamptz not null default now(),
      status text not null default 'pending'
        check (status in ('pending', 'sending', 'sent', 'delivered', 'failed', 'cancelled')),
      attempts integer not null default 0,
      last_error text,
      provider_id text,
      lease_until timestamptz,
      sent_at timestamptz,
      delivered_at timestamptz,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create index notification_outbox_due_idx on notification_outbox (send_after) where status = 'pending';
    create index notification_outbox_lease_idx on notification_outbox (lease_until) where status = 'sending';
    create index notification_outbox_appointment_idx on notification_outbox (appointment_id);
    create index notification_outbox_user_idx on notification_outbox (user_id, created_at desc);
    create index notification_outbox_provider_idx on notification_outbox (provider_id) where provider_id is not null;

    create table notification_preferences (
      user_id uuid primary key references users (id) on delete cascade,
      channels text[] not null default '{sms,email}',
      reminder_offsets integer[] not null default '{1440,60}',
      quiet_start time,
      quiet_end time,
      language text not null default 'en' check (language in ('en', 'bn')),
      updated_at timestamptz not null default now()
    );

    create table sms_opt_outs (
      phone text primary key,
      opted_out_at timestamptz not null default now()
    );

    -- How far the reminder scanner has looked: each tick scans (scanned_until, now + window] once, so a
    -- process that was down catches up exactly once.
    create table notification_scan_state (
      name text primary key,
      scanned_until timestamptz not null,
      updated_at timestamptz not null default now()
    );

    -- The reminder scan reads only active appointments by estimated time; keeps a tick fast at 1M rows.
    create index appointments_reminder_scan_idx on appointments (estimated_at)
      where status in ('booked', 'confirmed', 'checked_in');
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`drop index appointments_reminder_scan_idx; drop table notification_scan_state; drop table sms_opt_outs; drop table notification_preferences; drop table notification_outbox;`.execute(
    db,
  );
}
