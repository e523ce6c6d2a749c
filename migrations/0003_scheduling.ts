import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create table sessions (
      id uuid primary key default gen_random_uuid(),
      doctor_id uuid not null references doctors (id) on delete cascade,
      hospital_id uuid not null references hospitals (id),
      weekday smallint not null check (weekday between 1 and 7),
      start_time time not null,
      end_time time not null,
      slot_minutes integer not null check (slot_minutes between 1 and 480),
      capacity integer not null check (capacity between 1 and 10000),
      fee numeric(10, 2) not null default 0 check (fee >= 0),
      room text,
      valid_from date,
      valid_to date,
      booking_opens_days integer not null default 30 check (booking_opens_days between 0 and 365),
      booking_closes_minutes integer not null default 0 check (booking_closes_minutes between -1440 and 10080),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      deleted_at timestamptz,
      check (end_time > start_time),
      check (valid_to is null or valid_from is null or valid_to >= valid_from)
    );
    create index sessions_doctor_idx on sessions (doctor_id) where deleted_at is null;
    create index sessions_hospital_weekday_idx on sessions (hospital_id, weekday) where deleted_at is null;

    create table time_off (
      id uuid primary key default gen_random_uuid(),
      doctor_id uuid not null references doctors (id) on delete cascade,
      from_date date not null,
      to_date date not null,
      reason text not null default '',
      created_at timestamptz not null default now(),
      check (to_date >= from_date)
    );
    create index time_off_doctor_idx on time_off (doctor_id, from_date);

    -- One row per session and local date: the queue. Its id is the queueId.
    create table session_days (
      id uuid primary key default gen_random_uuid(),
      session_id uuid not null references sessions (id),
      doctor_id uuid not null references doctors (id),
      hospital_id uuid not null references hospitals (id),
      date date not null,
      starts_at timestamptz not null,
      ends_at timestamptz not null,
      capacity integer not null,
      slot_minutes integer not null,
      next_serial integer not null default 1,
      booked_count integer not null default 0,
      version integer not null default 0,
      status text not null default 'open' check (status in ('open', 'paused', 'closed', 'cancelled')),
      now_serving integer,
      notice text,
      paused_until timestamptz,
      avg_consult_seconds integer,
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now(),
      unique (session_id, date)
    );
    create index session_days_date_hospital_idx on session_days (date, hospital_id);
    create index session_days_doctor_date_idx on session_days (doctor_id, date);

    create table appointments (
      id uuid primary key default gen_random_uuid(),
      queue_id uuid not null references session_days (id),
      doctor_id uuid not null references doctors (id),
      date date not null,
      profile_id uuid references patient_profiles (id),
      booked_by uuid references users (id),
      service_id uuid references services (id),
      serial integer not null check (serial > 0),
      kind text not null default 'booked' check (kind in ('booked', 'walk_in')),
      priority integer not null default 0,
      position_key double precision not null,
      status text not null default 'booked'
        check (status in ('booked', 'confirmed', 'checked_in', 'called', 'completed', 'no_show', 'skipped', 'cancelled')),
      estimated_at timestamptz not null,
      tracking_token_hash text not null unique,
      walk_in_name text,
      walk_in_phone text,
      fee numeric(10, 2) not null default 0,
      cancel_reason text,
      booked_at timestamptz not null default now(),
      confirmed_at timestamptz,
      checked_in_at timestamptz,
      called_at timestamptz,
      completed_at timestamptz,
      cancelled_at timestamptz,
      no_show_at timestamptz,
      skipped_at timestamptz,
      updated_at timestamptz not null default now(),
      unique (queue_id, serial)
    );
    create unique index appointments_one_active_idx on appointments (profile_id, doctor_id, date)
      where status not in ('cancelled', 'completed', 'no_show');
    create index appointments_profile_idx on appointments (profile_id, date desc);
    create index appointments_doctor_date_idx on appointments (doctor_id, date);
    create index appointments_queue_status_idx on appointments (queue_id, status);
    -- The waiting line in queue order: call-next reads its first entry (queue.repository firstWaiting).
    create index appointments_waiting_line_idx on appointments (queue_id, priority desc, position_key)
      where status in ('booked','confirmed','checked_in');

    create table queue_events (
      id bigint generated always as identity primary key,
      queue_id uuid not null references session_days (id),
      version integer not null,
      type text not null,
      appointment_id uuid references appointments (id),
      serial integer,
      actor_id uuid references users (id) on delete set null,
      reason text,
      data jsonb,
      at timestamptz not null default now(),
      unique (queue_id, version)
    );

    create table idempotency_keys (
      user_id uuid not null references users (id) on delete cascade,
      key text not null,
      request_hash text not null,
      status_code integer not null,
      response jsonb not null,
      created_at timestamptz not null default now(),
      primary key (user_id, key)
    );

    -- A full session's waitlist. An offered entry holds a freed place until offer_expires_at, and counts
    -- against capacity while it does, so an offer can never overbook.
    create table waitlist_entries (
      id uuid primary key default gen_random_uuid(),
      queue_id uuid not null references session_days (id),
      profile_id uuid not null references patient_profiles (id),
      account_id uuid not null references users (id) on delete cascade,
      status text not null default 'waiting' check (status in ('waiting', 'offered', 'booked', 'expired', 'left')),
      offered_at timestamptz,
      offer_expires_at timestamptz,
      appointment_id uuid references appointments (id),
      created_at timestamptz not null default now(),
      updated_at timestamptz not null default now()
    );
    create unique index waitlist_one_pending_idx on waitlist_entries (queue_id, profile_id)
      where status in ('waiting', 'offered');
    create index waitlist_queue_pending_idx on waitlist_entries (queue_id, status, created_at)
      where status in ('waiting', 'offered');
    create index waitlist_offers_due_idx on waitlist_entries (offer_expires_at) where status = 'offered';
    create index waitlist_account_idx on waitlist_entries (account_id, created_at desc);
    create index time_off_doctor_range_idx on time_off (doctor_id, to_date);
    create index idempotency_keys_created_idx on idempotency_keys (created_at);
    create index appointments_date_status_idx on appointments (date, status);
    create index sessions_doctor_weekday_idx on sessions (doctor_id, weekday) where deleted_at is null;

    create table reviews (
      id uuid primary key default gen_random_uuid(),
      appointment_id uuid not null unique references appointments (id),
      doctor_id uuid not null references doctors (id) on delete cascade,
      author_id uuid not null references users (id) on delete cascade,
      rating smallint not null check (rating between 1 and 5),
      comment text not null default '' check (length(comment) <= 2000),
      hidden_at timestamptz,
      created_at timestamptz not null default now()
    );
    create index reviews_doctor_idx on reviews (doctor_id, created_at desc);
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table reviews; drop table waitlist_entries; drop table idempotency_keys; drop table queue_events; drop table appointments;
    drop table session_days; drop table time_off; drop table sessions;
  `.execute(db);
}
