// The reports' SQL. It only reads other modules' tables (session days, appointments, queue events, users,
// doctors, hospitals, feedback, invoices). One CTE turns each appointment of the period into a visit row with its wait, consult,
// ETA errors and canceller; one statement aggregates it by grouping sets, so a report is one
// index-driven statement however many visits it covers.
import { type RawBuilder, sql } from 'kysely';
import type { Executor } from '../../db/database.js';

export interface ReportScope {
  from: string;
  to: string;
  hospitalId?: string;
  doctorId?: string;
}

/** The day filter every statement shares: the hospital's (or doctor's) session days of the period. */
function daysWhere(scope: ReportScope): RawBuilder<unknown> {
  return sql`d.date between ${scope.from}::date and ${scope.to}::date
    ${scope.hospitalId ? sql`and d.hospital_id = ${scope.hospitalId}::uuid` : sql``}
    ${scope.doctorId ? sql`and d.doctor_id = ${scope.doctorId}::uuid` : sql``}`;
}

/**
 * One row per appointment of the period. Wait: check-in (or, never checked in, the scheduled time) → called,
 * never negative. Consult: called → completed. ETA: the estimate shown at check-in or walk-in (queue event
 * data.etaAt, its range data.etaRange) against the call; the naive baseline is the session start plus
 * (serial − 1) slots, its range that slot. An appointment has at most one check-in or walk-in event (check-in
 * starts only from booked or confirmed; a recall moves a skipped patient back without one) and at most one
 * cancel (it is final), so the event joins need no de-duplication.
 */
function visitsCte(scope: ReportScope): RawBuilder<unknown> {
  return sql`
    days as (
      select d.id, d.doctor_id, d.date, d.starts_at, d.slot_minutes, h.timezone
      from session_days d join hospitals h on h.id = d.hospital_id
      where ${daysWhere(scope)}
    ),
    shown as (
      select e.appointment_id,
        (e.data ->> 'etaAt')::timestamptz as eta_at,
        (e.data -> 'etaRange' ->> 'from')::timestamptz as range_from,
        (e.data -> 'etaRange' ->> 'to')::timestamptz as range_to
      from days join queue_events e on e.queue_id = days.id
      where e.type in ('checked_in', 'walk_in') and e.data ->> 'etaAt' is not null
    ),
    cancels as (
      select e.appointment_id, coalesce(u.role, 'system') as role
      from days join queue_events e on e.queue_id = days.id
      left join users u on u.id = e.actor_id
      where e.type = 'cancelled'
    ),
    visits as materialized (
      select a.doctor_id, a.date, a.status, a.kind, c.role as cancelled_by,
        case when a.called_at is not null then
          greatest(0, date_part('epoch', a.called_at - coalesce(a.checked_in_at, a.estimated_at))) / 60 end
          as wait_min,
        case when a.status = 'completed' then date_part('epoch', a.completed_at - a.called_at) / 60 end
          as consult_min,
        abs(date_part('epoch', a.called_at - s.eta_at)) / 60 as eta_err_min,
        case when a.called_at is not null and s.range_from is not null
          then a.called_at between s.range_from and s.range_to end as eta_inside,
        case when s.eta_at is not null and a.called_at is not null then
          abs(date_part('epoch', a.called_at - naive.at)) / 60 end as naive_err_min,
        case when s.range_from is not null and a.called_at is not null
          then a.called_at between naive.at and naive.at + make_interval(mins => days.slot_minutes) end
          as naive_inside,
        date_part('hour', a.checked_in_at at time zone days.timezone)::int as arrival_hour,
        date_part('hour', a.called_at at time zone days.timezone)::int as call_hour,
        date_trunc('week', a.date)::date as week,
        case when a.called_at is not null then least(${WAIT_BUCKETS - 1}, floor(greatest(0,
          date_part('epoch', a.called_at - coalesce(a.checked_in_at, a.estimated_at))) / 60 / ${WAIT_BUCKET_MINUTES}))::int
        end as wait_bucket,
        fb.rating, fb.wait_rating, fb.would_recommend,
        inv.status as invoice_status, inv.total::float8 as invoice_total, inv.currency
      from days join appointments a on a.queue_id = days.id
      left join feedback fb on fb.appointment_id = a.id
      left join invoices inv on inv.appointment_id = a.id
      cross join lateral (select days.starts_at + make_interval(mins => (a.serial - 1) * days.slot_minutes) as at)
        naive
      left join shown s on s.appointment_id = a.id
      left join cancels c on c.appointment_id = a.id
    )`;
}

const median = (column: string) => sql.raw(`percentile_cont(0.5) within group (order by ${column})`);
const p90 = (column: string) => sql.raw(`percentile_cont(0.9) within group (order by ${column})`);

export interface FigureRow {
  doctorId: string | null;
  doctorName: string | null;
  date: string | null;
  total: number;
  booked: number;
  confirmed: number;
  checkedIn: number;
  called: number;
  completed: number;
  noShow: number;
  skipped: number;
  cancelled: number;
  kindBooked: number;
  kindWalkIn: number;
  cancelledByPatient: number;
  cancelledByDoctor: number;
  cancelledByStaff: number;
  cancelledByAdmin: number;
  cancelledBySystem: number;
  waitSamples: number;
  waitMedian: number | null;
  waitP90: number | null;
  consultSamples: number;
  consultMedian: number | null;
  consultP90: number | null;
  etaSamples: number;
  etaMedianError: number | null;
  etaRangeSamples: number;
  etaInside: number;
  naiveMedianError: number | null;
  naiveInside: number;
  feedbackCount: number;
  feedbackRating: number | null;
  feedbackWaitRating: number | null;
  recommendAnswers: number;
  recommendYes: number;
  revenueInvoiced: number;
  revenuePaid: number;
  currency: string | null;
}

/** The wait histogram: 5-minute buckets, the last one open-ended (an hour and over). */
export const WAIT_BUCKET_MINUTES = 5;
export const WAIT_BUCKETS = 13;

export interface ShapeRow {
  set: 'arrival' | 'call' | 'wait' | 'week';
  key: string;
  count: number;
  etaMedianError: number | null;
  naiveMedianError: number | null;
}

const camel = (key: string) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const camelRows = <T>(rows: Record<string, unknown>[]): T[] =>
  rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [camel(k), v])) as T);

/**
 * One statement over the visits: figures per doctor per day, per doctor and for the whole scope (doctorId and
 * date null); and arrivals and calls per local hour, the wait histogram and the ETA error per week.
 */
export async function report(
  db: Executor,
  scope: ReportScope,
): Promise<{ figures: FigureRow[]; shapes: ShapeRow[] }> {
  const count = (cond: string) => sql.raw(`count(*) filter (where ${cond})::int`);
  const { rows } = await sql<{ figures: Record<string, unknown>[]; shapes: Record<string, unknown>[] }>`
    with ${visitsCte(scope)},
    grouped as (
      select doctor_id, to_char(date, 'YYYY-MM-DD') as date, grouping(doctor_id, date) as level,
        count(*)::int as total,
        ${count(`status = 'booked'`)} as booked, ${count(`status = 'confirmed'`)} as confirmed,
        ${count(`status = 'checked_in'`)} as checked_in, ${count(`status = 'called'`)} as called,
        ${count(`status = 'completed'`)} as completed, ${count(`status = 'no_show'`)} as no_show,
        ${count(`status = 'skipped'`)} as skipped, ${count(`status = 'cancelled'`)} as cancelled,
        ${count(`kind = 'booked'`)} as kind_booked, ${count(`kind = 'walk_in'`)} as kind_walk_in,
        ${count(`cancelled_by = 'patient'`)} as cancelled_by_patient,
        ${count(`cancelled_by = 'doctor'`)} as cancelled_by_doctor,
        ${count(`cancelled_by = 'staff'`)} as cancelled_by_staff,
        ${count(`cancelled_by = 'admin'`)} as cancelled_by_admin,
        ${count(`cancelled_by = 'system' or (status = 'cancelled' and cancelled_by is null)`)} as cancelled_by_system,
        count(wait_min)::int as wait_samples, ${median('wait_min')} as wait_median, ${p90('wait_min')} as wait_p90,
        count(consult_min)::int as consult_samples, ${median('consult_min')} as consult_median,
        ${p90('consult_min')} as consult_p90,
        count(eta_err_min)::int as eta_samples, ${median('eta_err_min')} as eta_median_error,
        count(eta_inside)::int as eta_range_samples, ${count('eta_inside')} as eta_inside,
        ${median('naive_err_min')} as naive_median_error, ${count('naive_inside')} as naive_inside,
        count(rating)::int as feedback_count, avg(rating)::float8 as feedback_rating,
        avg(wait_rating)::float8 as feedback_wait_rating, count(would_recommend)::int as recommend_answers,
        ${count('would_recommend')} as recommend_yes,
        coalesce(sum(invoice_total) filter (where invoice_status <> 'void'), 0)::float8 as revenue_invoiced,
        coalesce(sum(invoice_total) filter (where invoice_status = 'paid'), 0)::float8 as revenue_paid,
        case when count(distinct currency) = 1 then min(currency) end as currency
      from visits
      group by grouping sets ((doctor_id, date), (doctor_id), ())
    ),
    shaped as (
      select
        case when grouping(arrival_hour) = 0 then 'arrival' when grouping(call_hour) = 0 then 'call'
             when grouping(wait_bucket) = 0 then 'wait' else 'week' end as set,
        coalesce(arrival_hour::text, call_hour::text, wait_bucket::text, to_char(week, 'YYYY-MM-DD')) as key,
        count(*)::int as count,
        ${median('eta_err_min')} as eta_median_error, ${median('naive_err_min')} as naive_median_error
      from visits
      group by grouping sets ((arrival_hour), (call_hour), (wait_bucket), (week))
    )
    select
      (select coalesce(json_agg(f order by f.level desc, f.doctor_name, f.doctor_id, f.date), '[]')
         from (select g.*, doc.name as doctor_name from grouped g left join doctors doc on doc.id = g.doctor_id) f)
        as figures,
      (select coalesce(json_agg(x), '[]') from shaped x where x.key is not null) as shapes
  `.execute(db);
  return { figures: camelRows<FigureRow>(rows[0].figures), shapes: camelRows<ShapeRow>(rows[0].shapes) };
}

export interface ScheduleRow {
  date: string;
  sessionId: string;
  queueId: string | null;
  doctorId: string;
  doctorName: string;
  hospitalId: string;
  start: string;
  end: string;
  status: string;
  timeOff: boolean;
  capacity: number;
  booked: number;
  checkedIn: number;
  completed: number;
  noShows: number;
  cancellations: number;
  waitlist: number;
}

/**
 * Every sitting of the range: the weekly sessions expanded to their dates (confirmed, valid that day), joined
 * with the session days that exist, plus days of sessions since removed. Counts come from the appointments.
 */
export async function scheduleDays(db: Executor, scope: ReportScope): Promise<ScheduleRow[]> {
  const { rows } = await sql<ScheduleRow>`
    with planned as (
      select s.id as session_id, g.date::date as date
      from sessions s
      cross join generate_series(${scope.from}::date, ${scope.to}::date, interval '1 day') g(date)
      where s.deleted_at is null and s.confirmed_at is not null
        and extract(isodow from g.date) = s.weekday
        and (s.valid_from is null or s.valid_from <= g.date) and (s.valid_to is null or s.valid_to >= g.date)
        ${scope.hospitalId ? sql`and s.hospital_id = ${scope.hospitalId}::uuid` : sql``}
        ${scope.doctorId ? sql`and s.doctor_id = ${scope.doctorId}::uuid` : sql``}
    ),
    existing as (
      select d.session_id, d.date from session_days d where ${daysWhere(scope)}
    ),
    sittings as (select * from planned union select * from existing)
    select to_char(x.date, 'YYYY-MM-DD') as date, x.session_id, d.id as queue_id, s.doctor_id,
      doc.name as doctor_name, s.hospital_id,
      to_char(coalesce(d.starts_at at time zone h.timezone, x.date + s.start_time), 'HH24:MI') as start,
      to_char(coalesce(d.ends_at at time zone h.timezone, x.date + s.end_time), 'HH24:MI') as end,
      coalesce(d.status, 'planned') as status,
      exists (select 1 from time_off t where t.doctor_id = s.doctor_id and x.date between t.from_date and t.to_date
              and (t.hospital_id is null or t.hospital_id = s.hospital_id)) as time_off,
      coalesce(d.capacity, s.capacity) as capacity,
      coalesce(c.booked, 0) as booked, coalesce(c.checked_in, 0) as checked_in,
      coalesce(c.completed, 0) as completed, coalesce(c.no_shows, 0) as no_shows,
      coalesce(c.cancellations, 0) as cancellations, coalesce(w.waiting, 0) as waitlist
    from sittings x
    join sessions s on s.id = x.session_id
    join hospitals h on h.id = s.hospital_id
    join doctors doc on doc.id = s.doctor_id
    left join session_days d on d.session_id = x.session_id and d.date = x.date
    left join lateral (
      select count(*) filter (where a.status <> 'cancelled')::int as booked,
        count(*) filter (where a.checked_in_at is not null)::int as checked_in,
        count(*) filter (where a.status = 'completed')::int as completed,
        count(*) filter (where a.status = 'no_show')::int as no_shows,
        count(*) filter (where a.status = 'cancelled')::int as cancellations
      from appointments a where a.queue_id = d.id
    ) c on true
    left join lateral (
      select count(*)::int as waiting from waitlist_entries e
      where e.queue_id = d.id and e.status in ('waiting', 'offered')
    ) w on true
    order by x.date, start, doc.name, x.session_id
  `.execute(db);
  return rows;
}
