// Reports and schedule views: request and response schemas (design §3 "Clinic business, reports and admin").
import { type Static, Type } from '@sinclair/typebox';
import { LocalDate, Nullable, Uuid } from '../../lib/schema.js';

export const PERIODS = ['day', 'week', 'month'] as const;
export type Period = (typeof PERIODS)[number];

/** The longest range a report or schedule may cover. */
export const MAX_RANGE_DAYS = 400;

const HospitalFilter = Type.Optional(
  Type.String({
    format: 'uuid',
    description: 'Staff: their own hospital (the default); admins: any, or all hospitals when left out',
  }),
);
const DoctorFilter = Type.Optional(
  Type.String({ format: 'uuid', description: 'One doctor; a doctor always sees only their own figures' }),
);

export const ReportQuerySchema = Type.Object({
  period: Type.Optional(
    Type.Union(
      PERIODS.map((p) => Type.Literal(p)),
      {
        description:
          'day, the ISO week (Monday to Sunday) or the calendar month holding `date`; leave out with `from` and `to`',
      },
    ),
  ),
  date: Type.Optional({ ...LocalDate, description: 'A local date inside the period (with `period`)' }),
  from: Type.Optional({
    ...LocalDate,
    description: `First day of a custom range (at most ${MAX_RANGE_DAYS} days)`,
  }),
  to: Type.Optional({ ...LocalDate, description: 'Last day of a custom range, inclusive' }),
  hospitalId: HospitalFilter,
  doctorId: DoctorFilter,
});
export type ReportQuery = Static<typeof ReportQuerySchema>;

const Minutes = (what: string) =>
  Type.Object(
    {
      samples: Type.Integer({ description: 'Visits measured' }),
      median: Nullable(Type.Number({ description: 'Minutes (interpolated percentile)' })),
      p90: Nullable(Type.Number({ description: 'Minutes, 90th percentile (interpolated)' })),
    },
    { description: what },
  );

const Accuracy = Type.Object({
  medianAbsErrorMinutes: Nullable(
    Type.Number({ description: 'Median of |estimate − actual call|, minutes' }),
  ),
  insideRangeShare: Nullable(
    Type.Number({ description: 'Share (0–1) of calls that fell inside the range, of those that had one' }),
  ),
});

export const FiguresSchema = Type.Object({
  appointments: Type.Integer({ description: 'Every appointment of the period, cancelled ones included' }),
  byStatus: Type.Object(
    {
      booked: Type.Integer(),
      confirmed: Type.Integer(),
      checkedIn: Type.Integer(),
      called: Type.Integer(),
      completed: Type.Integer(),
      noShow: Type.Integer(),
      skipped: Type.Integer(),
      cancelled: Type.Integer(),
    },
    { description: 'Appointments by their current status' },
  ),
  booked: Type.Integer({ description: 'Appointments booked ahead' }),
  walkIns: Type.Integer({ description: 'Walk-ins registered at the desk' }),
  cancellationsBy: Type.Object(
    {
      patient: Type.Integer(),
      doctor: Type.Integer(),
      staff: Type.Integer(),
      admin: Type.Integer(),
      system: Type.Integer({ description: 'No account: time off, session changes, SMS replies' }),
    },
    { description: "Cancellations by the role of the account that cancelled (the queue event's actor)" },
  ),
  wait: Minutes('Check-in → called; for patients who never checked in, scheduled time → called'),
  consult: Minutes('Called → completed'),
  noShowRate: Nullable(Type.Number({ description: 'No-shows ÷ (completed + no-shows), 0–1' })),
  eta: Type.Object(
    {
      samples: Type.Integer({ description: 'Called patients who were shown an ETA at check-in or walk-in' }),
      rangeSamples: Type.Integer({ description: 'Of those, how many were shown a range too' }),
      ...Accuracy.properties,
      naive: Type.Object(Accuracy.properties, {
        description: 'Baseline: session start + (serial − 1) × slot length, its range that slot',
      }),
    },
    { description: 'ETA accuracy: the estimate shown at check-in against the actual call time' },
  ),
  feedback: Type.Object(
    {
      count: Type.Integer({ description: 'Feedback given on visits of the period' }),
      rating: Nullable(Type.Number({ description: 'Average visit rating, 1–5' })),
      waitRating: Nullable(Type.Number({ description: 'Average wait rating, 1–5' })),
      wouldRecommendShare: Nullable(
        Type.Number({ description: 'Share (0–1) who would recommend, of those who answered' }),
      ),
    },
    { description: "Patients' private feedback on the period's visits" },
  ),
  revenue: Type.Object(
    {
      invoiced: Type.Number({
        description: 'Total of the invoices of the period’s visits that are not void',
      }),
      paid: Type.Number({ description: 'Total of those invoices that are paid' }),
      currency: Nullable(
        Type.String({ description: 'Null when there is none, or several (admins across hospitals)' }),
      ),
    },
    { description: 'Invoices of the visits of the period' },
  ),
});
export type Figures = Static<typeof FiguresSchema>;

export const DoctorFiguresSchema = Type.Object({
  doctorId: Uuid,
  doctorName: Type.String(),
  ...FiguresSchema.properties,
});
export const DayFiguresSchema = Type.Object({ date: LocalDate, ...DoctorFiguresSchema.properties });

export const ReportSchema = Type.Object({
  period: Nullable(Type.String({ description: 'day, week, month, or null for a custom range' })),
  from: LocalDate,
  to: LocalDate,
  hospitalId: Nullable(Uuid),
  doctorId: Nullable(Uuid),
  totals: FiguresSchema,
  doctors: Type.Array(DoctorFiguresSchema, { description: 'Per-doctor breakdown' }),
  days: Type.Array(DayFiguresSchema, { description: 'One row per doctor per day (the CSV rows)' }),
  hourly: Type.Array(
    Type.Object({
      hour: Type.Integer({ minimum: 0, maximum: 23, description: "Local hour in the hospital's zone" }),
      arrivals: Type.Integer({ description: 'Check-ins and walk-ins in that hour' }),
      calls: Type.Integer(),
    }),
  ),
  waitDistribution: Type.Array(
    Type.Object({
      fromMinutes: Type.Integer(),
      toMinutes: Nullable(Type.Integer({ description: 'Exclusive; null for the last, open bucket' })),
      count: Type.Integer(),
    }),
    { description: 'Waits of called patients in 5-minute buckets, 60 minutes and over in the last' },
  ),
  etaByWeek: Type.Array(
    Type.Object({
      week: { ...LocalDate, description: 'Monday of the ISO week' },
      samples: Type.Integer(),
      medianAbsErrorMinutes: Nullable(Type.Number()),
      naiveMedianAbsErrorMinutes: Nullable(Type.Number()),
    }),
  ),
});
export type Report = Static<typeof ReportSchema>;

export const ScheduleQuerySchema = Type.Object({
  from: { ...LocalDate, description: 'First day' },
  to: { ...LocalDate, description: `Last day, inclusive (at most ${MAX_RANGE_DAYS} days)` },
  hospitalId: HospitalFilter,
  doctorId: DoctorFilter,
});
export type ScheduleQuery = Static<typeof ScheduleQuerySchema>;

export const ScheduleDaySchema = Type.Object({
  date: LocalDate,
  sessionId: Uuid,
  queueId: Nullable({
    ...Uuid,
    description: 'The session day, once created (first booking or the day itself)',
  }),
  doctorId: Uuid,
  doctorName: Type.String(),
  hospitalId: Uuid,
  start: Type.String({ description: 'HH:MM local' }),
  end: Type.String({ description: 'HH:MM local' }),
  status: Type.String({ description: 'planned (no session day yet), open, paused, closed or cancelled' }),
  timeOff: Type.Boolean({ description: 'The doctor has time off covering this sitting' }),
  capacity: Type.Integer(),
  booked: Type.Integer({ description: 'Appointments not cancelled, walk-ins included' }),
  checkedIn: Type.Integer({ description: 'Appointments that checked in (walk-ins included)' }),
  completed: Type.Integer(),
  noShows: Type.Integer(),
  cancellations: Type.Integer(),
  waitlist: Type.Integer({ description: 'Waitlist entries waiting or holding an offer' }),
});

export const ScheduleSchema = Type.Object({
  from: LocalDate,
  to: LocalDate,
  items: Type.Array(ScheduleDaySchema, { description: 'Per day per doctor session, by date and start' }),
  nextCursor: Type.Null({ description: 'Always null: the range bounds the answer' }),
});
