// A booking is one statement (issue 13, "booking at the database's pace"): day_book_place(p) takes the locks in
// the order every schedule change takes them (the doctor and the session key-share, then the day's row for
// update), checks under them what the rules need checked there (the session's rules unchanged since the
// caller read them, an Idempotency-Key not used yet, time off, the day's status, capacity with held waitlist
// offers, an explicit serial), takes the serial, inserts the appointment, counts it, bumps the version,
// appends the `booked` event and writes the outbox rows the caller drafted (the serial and the estimate filled
// in). Run on its own, outside a transaction, the day's row lock is held only while the statement runs, as for
// pgbench's hot-row update; run inside a transaction it is the booking step of the full path. A plpgsql
// function, so every statement in it reads a fresh snapshot after the lock wait (one CTE statement would read
// the appointments as they were before it waited).
// A refusal returns before anything is written; a duplicate booking fails on the partial unique index.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    -- What the booking rules read of a session, as one tag: a booking read before its lock is placed only
    -- when the tag is unchanged under the lock.
    create function day_session_rules_tag(p_session uuid) returns text language sql stable as $f$
      select md5(row(s.weekday, s.start_time, s.slot_minutes, s.fee, s.valid_from, s.valid_to,
                     s.booking_opens_days, s.booking_closes_minutes, s.confirmed_at, s.deleted_at,
                     d.verified_at, h.timezone)::text)
      from sessions s join doctors d on d.id = s.doctor_id join hospitals h on h.id = s.hospital_id
      where s.id = p_session
    $f$;

    -- The next unused serial of a day: next_serial when free, else the first gap after it. Serials picked
    -- explicitly ahead of next_serial are skipped, and a serial is never handed out twice, even after a cancel.
    create function day_next_free_serial(p_queue uuid, p_next integer) returns integer language sql stable as $f$
      select case
        when not exists (select 1 from appointments a where a.queue_id = p_queue and a.serial = p_next) then p_next
        else (select min(a.serial) + 1 from appointments a
              where a.queue_id = p_queue and a.serial >= p_next
                and not exists (select 1 from appointments b where b.queue_id = p_queue and b.serial = a.serial + 1))
      end
    $f$;

    create function day_book_place(p jsonb) returns jsonb language plpgsql as $f$
    declare
      v_queue uuid := (p->>'queueId')::uuid;
      v_session uuid := (p->>'sessionId')::uuid;
      v_id uuid := (p->>'id')::uuid;
      v_user uuid := (p->>'bookedBy')::uuid;
      v_now timestamptz := (p->>'now')::timestamptz;
      v_key text := p->>'idempotencyKey';
      v_serial integer := (p->>'serial')::integer;
      q record;
      v_slot timestamptz;
      v_est timestamptz;
      v_version integer;
      v_count integer;
    begin
      perform 1 from doctors where id = (p->>'doctorId')::uuid for key share;
      perform 1 from sessions where id = v_session for key share;
      select id, hospital_id, capacity, booked_count, next_serial, status, starts_at, slot_minutes into q
        from session_days where id = v_queue for update;
      if not found then return jsonb_build_object('refusal', 'stale'); end if;
      if p ? 'rulesTag' and day_session_rules_tag(v_session) is distinct from p->>'rulesTag' then
        return jsonb_build_object('refusal', 'stale');
      end if;
      if v_key is not null and exists (select 1 from idempotency_keys k where k.user_id = v_user and k.key = v_key) then
        return jsonb_build_object('refusal', 'replay');
      end if;
      if exists (select 1 from time_off t where t.doctor_id = (p->>'doctorId')::uuid
                 and (t.hospital_id is null or t.hospital_id = q.hospital_id)
                 and t.from_date <= (p->>'date')::date and t.to_date >= (p->>'date')::date) then
        return jsonb_build_object('refusal', 'time_off');
      end if;
      if q.status in ('closed', 'cancelled') then return jsonb_build_object('refusal', 'queue_closed'); end if;
      if q.booked_count + (select count(*) from waitlist_entries w
            where w.queue_id = q.id and w.status = 'offered' and w.offer_expires_at > v_now
              and w.id is distinct from (p->>'offerEntryId')::uuid) >= q.capacity then
        return jsonb_build_object('refusal', 'full');
      end if;
      if v_serial is not null then
        if v_serial > q.capacity or exists (select 1 from appointments a where a.queue_id = q.id and a.serial = v_serial) then
          return jsonb_build_object('refusal', 'serial_taken');
        end if;
      else
        v_serial := day_next_free_serial(q.id, q.next_serial);
      end if;
      v_slot := q.starts_at + make_interval(mins => (v_serial - 1) * q.slot_minutes);
      -- Slots whose messages the caller could not draft (a reminder due at once): the full path books them.
      if exists (select 1 from jsonb_array_elements(coalesce(p->'undraftedSlots', '[]'::jsonb)) r
                 where v_slot >= (r->>0)::timestamptz and v_slot <= (r->>1)::timestamptz) then
        return jsonb_build_object('refusal', 'undrafted');
      end if;
      v_est := greatest(v_slot, coalesce((p->>'estimateFloor')::timestamptz, v_slot));
      if v_key is not null then
        insert into idempotency_keys (user_id, key, request_hash, status_code, response, created_at)
        values (v_user, v_key, p->>'requestHash', 201, p->'response', v_now)
        on conflict (user_id, key) do nothing;
        if not found then return jsonb_build_object('refusal', 'replay'); end if;
      end if;
      insert into appointments (id, queue_id, doctor_id, date, profile_id, booked_by, service_id, serial,
        position_key, estimated_at, tracking_token_hash, fee, booked_at)
      values (v_id, q.id, (p->>'doctorId')::uuid, (p->>'date')::date, (p->>'profileId')::uuid, v_user,
        (p->>'serviceId')::uuid, v_serial, v_serial, v_slot, p->>'trackingTokenHash', (p->>'fee')::numeric, v_now);
      update session_days d set
        booked_count = d.booked_count + 1,
        next_serial = case when p->>'serial' is null then v_serial + 1 else d.next_serial end,
        version = d.version + 1,
        updated_at = now()
      where d.id = q.id
      returning d.version, d.booked_count into v_version, v_count;
      insert into queue_events (queue_id, version, type, appointment_id, serial, actor_id)
      values (q.id, v_version, 'booked', v_id, v_serial, v_user);
      insert into notification_outbox (dedupe_key, kind, channel, recipient, user_id, appointment_id, hospital_id,
        language, payload, urgent, send_after)
      select o.dedupe_key, o.kind, o.channel, o.recipient, o.user_id, v_id, o.hospital_id, o.language,
        o.payload || jsonb_build_object('serial', v_serial,
          'estimatedAt', to_char(v_est at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')),
        o.urgent, o.send_after
      from jsonb_to_recordset(coalesce(p->'outbox', '[]'::jsonb)) as o(dedupe_key text, kind text, channel text,
        recipient text, user_id uuid, hospital_id uuid, language text, payload jsonb, urgent boolean,
        send_after timestamptz)
      on conflict (dedupe_key) do nothing;
      return jsonb_build_object('refusal', null, 'serial', v_serial, 'slotAt', v_slot, 'estimatedAt', v_est,
        'version', v_version, 'bookedCount', v_count, 'capacity', q.capacity);
    end
    $f$;
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop function day_book_place(jsonb);
    drop function day_next_free_serial(uuid, integer);
    drop function day_session_rules_tag(uuid);
  `.execute(db);
}
