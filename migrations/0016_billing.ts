// Billing and feedback (issue 15). Hospitals gain a currency (ISO 4217, default BDT) and a short code that
// prefixes their invoice numbers; existing hospitals get one derived from their name's initials, and a
// hospital inserted without one gets the same derivation from a trigger. Invoices are numbered per hospital
// and year from a counter row that the completing transaction increments (its row lock serialises concurrent
// completions; a rollback takes the number back), so numbers have no gaps and no duplicates. Feedback is one
// row per completed appointment; the single-use link of the feedback message is stored as a SHA-256.
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    alter table hospitals add column currency char(3) not null default 'BDT'
      check (currency ~ '^[A-Z]{3}$');

    -- 'Dhaka Medical College' → 'DMC'; letters of the Latin alphabet only, at most 4, 'H' when there are none.
    create function hospital_code_base(name text) returns text language sql immutable as $$
      select coalesce(nullif(left(string_agg(upper(left(w, 1)), '' order by i), 4), ''), 'H')
      from regexp_split_to_table(regexp_replace(name, '[^A-Za-z ]', ' ', 'g'), '\\s+') with ordinality as t(w, i)
      where w <> ''
    $$;
    alter table hospitals add column code text;
    update hospitals h set code = d.code from (
      select id, case when n = 1 then base else base || n end as code
      from (select id, hospital_code_base(name) as base,
                   row_number() over (partition by hospital_code_base(name) order by created_at, id) as n
            from hospitals) ranked
    ) d where d.id = h.id;
    alter table hospitals alter column code set not null;
    alter table hospitals add constraint hospitals_code_format check (code ~ '^[A-Z0-9]{1,12}$');
    create unique index hospitals_code_idx on hospitals (code);

    create function hospitals_default_code() returns trigger language plpgsql as $$
    declare
      base text := hospital_code_base(new.name);
      n integer := 1;
    begin
      if new.code is null then
        new.code := base;
        while exists (select 1 from hospitals where code = new.code) loop
          n := n + 1;
          new.code := base || n;
        end loop;
      end if;
      return new;
    end $$;
    create trigger hospitals_default_code before insert on hospitals
      for each row execute function hospitals_default_code();

    create table invoice_counters (
      hospital_id uuid not null references hospitals (id),
      year integer not null,
      last_number integer not null,
      primary key (hospital_id, year)
    );

    create table invoices (
      id uuid primary key default gen_random_uuid(),
      appointment_id uuid not null unique references appointments (id),
      hospital_id uuid not null references hospitals (id),
      doctor_id uuid not null references doctors (id),
      -- The account the invoice is addressed to (the profile's account, else who booked); null for a walk-in
      -- registered without one.
      account_id uuid references users (id),
      year integer not null,
      seq integer not null,
      number text not null unique,
      currency char(3) not null,
      total numeric(10, 2) not null check (total > 0),
      status text not null default 'pending' check (status in ('pending', 'paid', 'void')),
      issued_at timestamptz not null,
      -- The hospital's local date of issue: what the list's from/to filter.
      issued_on date not null,
      paid_at timestamptz,
      voided_at timestamptz,
      void_reason text,
      link_token_hash text not null unique,
      link_expires_at timestamptz not null,
      unique (hospital_id, year, seq)
    );
    create index invoices_hospital_issued_idx on invoices (hospital_id, issued_on, issued_at, id);
    create index invoices_account_issued_idx on invoices (account_id, issued_at, id);
    create index invoices_issued_idx on invoices (issued_on, issued_at, id);

    create table invoice_items (
      id uuid primary key default gen_random_uuid(),
      invoice_id uuid not null references invoices (id) on delete cascade,
      position integer not null,
      kind text not null check (kind in ('consultation', 'service')),
      description text not null,
      amount numeric(10, 2) not null check (amount > 0),
      unique (invoice_id, position)
    );

    create table payments (
      id uuid primary key default gen_random_uuid(),
      invoice_id uuid not null references invoices (id),
      kind text not null check (kind in ('payment', 'refund')),
      method text not null check (method in ('cash', 'card', 'mobile_wallet')),
      amount numeric(10, 2) not null check (amount > 0),
      reference text,
      reason text,
      recorded_by uuid not null references users (id),
      recorded_at timestamptz not null
    );
    -- One payment and at most one refund per invoice: paying twice or refunding twice is refused by the row.
    create unique index payments_one_per_kind_idx on payments (invoice_id, kind);

    create table feedback (
      id uuid primary key default gen_random_uuid(),
      appointment_id uuid not null unique references appointments (id),
      hospital_id uuid not null references hospitals (id),
      doctor_id uuid not null references doctors (id),
      account_id uuid references users (id),
      rating smallint not null check (rating between 1 and 5),
      wait_rating smallint not null check (wait_rating between 1 and 5),
      comment text not null default '',
      would_recommend boolean,
      via text not null check (via in ('app', 'link')),
      created_at timestamptz not null
    );
    create index feedback_hospital_created_idx on feedback (hospital_id, created_at desc, id desc);

    create table feedback_links (
      appointment_id uuid primary key references appointments (id),
      token_hash text not null unique,
      expires_at timestamptz not null,
      used_at timestamptz
    );
  `.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    drop table feedback_links;
    drop table feedback;
    drop table payments;
    drop table invoice_items;
    drop table invoices;
    drop table invoice_counters;
    drop trigger hospitals_default_code on hospitals;
    drop function hospitals_default_code();
    alter table hospitals drop column code;
    drop function hospital_code_base(text);
    alter table hospitals drop column currency;
  `.execute(db);
}
