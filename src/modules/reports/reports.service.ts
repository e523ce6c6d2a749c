// Reports and schedule views: who may see which figures, the period rules, and the figures' API shape.
import type { DB } from '../../db/database.js';
import { AppError, forbidden } from '../../errors.js';
import type { Principal } from '../../plugins/auth.js';
import {
  type FigureRow,
  type ReportScope,
  report,
  type ShapeRow,
  scheduleDays,
  WAIT_BUCKET_MINUTES,
  WAIT_BUCKETS,
} from './reports.queries.js';
import {
  type Figures,
  MAX_RANGE_DAYS,
  type Period,
  type Report,
  type ReportQuery,
  type ScheduleQuery,
} from './reports.schema.js';

const DAY_MS = 86_400_000;

const invalid = (message: string, field: string) => new AppError('VALIDATION_FAILED', message, { field });

const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The first and last local date of a period holding `date` (ISO weeks start on Monday). */
export function periodRange(period: Period, date: string): { from: string; to: string } {
  const at = Date.parse(`${date}T00:00:00Z`);
  if (period === 'day') return { from: date, to: date };
  if (period === 'week') {
    const monday = at - ((new Date(at).getUTCDay() + 6) % 7) * DAY_MS;
    return { from: iso(monday), to: iso(monday + 6 * DAY_MS) };
  }
  const d = new Date(at);
  return {
    from: iso(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)),
    to: iso(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)),
  };
}

/** A custom range must run forwards and span at most MAX_RANGE_DAYS days. */
export function checkRange(from: string, to: string): void {
  const days = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
  if (days < 1) throw invalid('`to` must not be before `from`', 'to');
  if (days > MAX_RANGE_DAYS)
    throw invalid(`A range may cover at most ${MAX_RANGE_DAYS} days (this one covers ${days})`, 'to');
}

function resolveRange(q: ReportQuery): { period: Period | null; from: string; to: string } {
  if (q.period) {
    if (q.from || q.to) throw invalid('Give either `period` with `date`, or `from` and `to`', 'period');
    if (!q.date) throw invalid('`period` needs a `date`', 'date');
    return { period: q.period, ...periodRange(q.period, q.date) };
  }
  if (!q.from || !q.to) throw invalid('Give `period` and `date`, or `from` and `to`', 'period');
  if (q.date) throw invalid('`date` goes with `period`', 'date');
  checkRange(q.from, q.to);
  return { period: null, from: q.from, to: q.to };
}

/** Staff see their hospital, doctors themselves, admins anything; anyone else asking for more is refused. */
export function scopeFor(
  principal: Principal,
  filter: { hospitalId?: string; doctorId?: string },
): Pick<ReportScope, 'hospitalId' | 'doctorId'> {
  switch (principal.role) {
    case 'admin':
      return filter;
    case 'staff':
      if (!principal.hospitalId) throw forbidden('This staff account belongs to no hospital');
      if (filter.hospitalId && filter.hospitalId !== principal.hospitalId)
        throw forbidden("Staff see only their own hospital's figures");
      return { hospitalId: principal.hospitalId, doctorId: filter.doctorId };
    case 'doctor':
      if (!principal.doctorId) throw forbidden('This account has no doctor profile');
      if (filter.doctorId && filter.doctorId !== principal.doctorId)
        throw forbidden('Doctors see only their own figures');
      return { hospitalId: filter.hospitalId, doctorId: principal.doctorId };
    default:
      throw forbidden('Reports are for staff, doctors and admins');
  }
}

const round = (v: number | null, digits = 1) => (v === null ? null : Number(v.toFixed(digits)));
const share = (part: number, whole: number) => (whole === 0 ? null : round(part / whole, 3));

export function toFigures(r: FigureRow): Figures {
  return {
    appointments: r.total,
    byStatus: {
      booked: r.booked,
      confirmed: r.confirmed,
      checkedIn: r.checkedIn,
      called: r.called,
      completed: r.completed,
      noShow: r.noShow,
      skipped: r.skipped,
      cancelled: r.cancelled,
    },
    booked: r.kindBooked,
    walkIns: r.kindWalkIn,
    cancellationsBy: {
      patient: r.cancelledByPatient,
      doctor: r.cancelledByDoctor,
      staff: r.cancelledByStaff,
      admin: r.cancelledByAdmin,
      system: r.cancelledBySystem,
    },
    wait: { samples: r.waitSamples, median: round(r.waitMedian), p90: round(r.waitP90) },
    consult: { samples: r.consultSamples, median: round(r.consultMedian), p90: round(r.consultP90) },
    noShowRate: share(r.noShow, r.completed + r.noShow),
    eta: {
      samples: r.etaSamples,
      rangeSamples: r.etaRangeSamples,
      medianAbsErrorMinutes: round(r.etaMedianError),
      insideRangeShare: share(r.etaInside, r.etaRangeSamples),
      naive: {
        medianAbsErrorMinutes: round(r.naiveMedianError),
        insideRangeShare: share(r.naiveInside, r.etaRangeSamples),
      },
    },
    feedback: {
      count: r.feedbackCount,
      rating: round(r.feedbackRating, 2),
      waitRating: round(r.feedbackWaitRating, 2),
      wouldRecommendShare: share(r.recommendYes, r.recommendAnswers),
    },
    revenue: {
      invoiced: round(r.revenueInvoiced, 2) ?? 0,
      paid: round(r.revenuePaid, 2) ?? 0,
      currency: r.currency,
    },
  };
}

function shapeSeries(rows: ShapeRow[]): Pick<Report, 'hourly' | 'waitDistribution' | 'etaByWeek'> {
  const of = (set: ShapeRow['set']) => rows.filter((r) => r.set === set);
  const countAt = (set: ShapeRow['set'], key: number) =>
    of(set).find((r) => Number(r.key) === key)?.count ?? 0;
  return {
    hourly: Array.from({ length: 24 }, (_, hour) => ({
      hour,
      arrivals: countAt('arrival', hour),
      calls: countAt('call', hour),
    })),
    waitDistribution: Array.from({ length: WAIT_BUCKETS }, (_, b) => ({
      fromMinutes: b * WAIT_BUCKET_MINUTES,
      toMinutes: b === WAIT_BUCKETS - 1 ? null : (b + 1) * WAIT_BUCKET_MINUTES,
      count: countAt('wait', b),
    })),
    etaByWeek: of('week')
      .map((r) => ({
        week: r.key as string,
        samples: r.count,
        medianAbsErrorMinutes: round(r.etaMedianError),
        naiveMedianAbsErrorMinutes: round(r.naiveMedianError),
      }))
      .sort((a, b) => a.week.localeCompare(b.week)),
  };
}

export class ReportsService {
  constructor(private readonly deps: { db: DB }) {}

  async appointments(principal: Principal, query: ReportQuery): Promise<Report> {
    const scope = scopeFor(principal, query);
    const range = resolveRange(query);
    const full = { ...scope, from: range.from, to: range.to };
    const { figures: rows, shapes: shapeRows } = await report(this.deps.db, full);
    // The empty grouping set answers one row even for a period without visits.
    const totals = rows.find((r) => r.doctorId === null);
    if (!totals) throw new Error('report totals row missing');
    const named = (r: FigureRow) => ({
      doctorId: r.doctorId as string,
      doctorName: r.doctorName ?? '',
      ...toFigures(r),
    });
    return {
      ...range,
      hospitalId: scope.hospitalId ?? null,
      doctorId: scope.doctorId ?? null,
      totals: toFigures(totals),
      doctors: rows.filter((r) => r.doctorId !== null && r.date === null).map(named),
      days: rows.filter((r) => r.date !== null).map((r) => ({ date: r.date as string, ...named(r) })),
      ...shapeSeries(shapeRows),
    };
  }

  async schedule(principal: Principal, query: ScheduleQuery) {
    const scope = scopeFor(principal, query);
    checkRange(query.from, query.to);
    const items = await scheduleDays(this.deps.db, { ...scope, from: query.from, to: query.to });
    return { from: query.from, to: query.to, items, nextCursor: null };
  }
}
