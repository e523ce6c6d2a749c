// The report as CSV: one row per doctor per day, the figures flattened into columns (RFC 4180 quoting).
import type { Report } from './reports.schema.js';

type DayRow = Report['days'][number];

const COLUMNS: [string, (d: DayRow) => string | number | null][] = [
  ['date', (d) => d.date],
  ['doctor_id', (d) => d.doctorId],
  ['doctor_name', (d) => d.doctorName],
  ['appointments', (d) => d.appointments],
  ['booked', (d) => d.booked],
  ['walk_ins', (d) => d.walkIns],
  ['status_booked', (d) => d.byStatus.booked],
  ['status_confirmed', (d) => d.byStatus.confirmed],
  ['status_checked_in', (d) => d.byStatus.checkedIn],
  ['status_called', (d) => d.byStatus.called],
  ['status_completed', (d) => d.byStatus.completed],
  ['status_no_show', (d) => d.byStatus.noShow],
  ['status_skipped', (d) => d.byStatus.skipped],
  ['status_cancelled', (d) => d.byStatus.cancelled],
  ['cancelled_by_patient', (d) => d.cancellationsBy.patient],
  ['cancelled_by_doctor', (d) => d.cancellationsBy.doctor],
  ['cancelled_by_staff', (d) => d.cancellationsBy.staff],
  ['cancelled_by_admin', (d) => d.cancellationsBy.admin],
  ['cancelled_by_system', (d) => d.cancellationsBy.system],
  ['wait_median_min', (d) => d.wait.median],
  ['wait_p90_min', (d) => d.wait.p90],
  ['consult_median_min', (d) => d.consult.median],
  ['consult_p90_min', (d) => d.consult.p90],
  ['no_show_rate', (d) => d.noShowRate],
  ['eta_samples', (d) => d.eta.samples],
  ['eta_median_abs_error_min', (d) => d.eta.medianAbsErrorMinutes],
  ['eta_inside_range_share', (d) => d.eta.insideRangeShare],
  ['naive_median_abs_error_min', (d) => d.eta.naive.medianAbsErrorMinutes],
  ['naive_inside_range_share', (d) => d.eta.naive.insideRangeShare],
  ['feedback_count', (d) => d.feedback.count],
  ['feedback_rating', (d) => d.feedback.rating],
  ['feedback_wait_rating', (d) => d.feedback.waitRating],
  ['would_recommend_share', (d) => d.feedback.wouldRecommendShare],
  ['revenue_invoiced', (d) => d.revenue.invoiced],
  ['revenue_paid', (d) => d.revenue.paid],
  ['currency', (d) => d.revenue.currency],
];

function cell(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  // A leading =, +, - or @ would run as a formula in a spreadsheet; quote it with a leading apostrophe.
  const safe = /^[=+\-@]/.test(text) && typeof value === 'string' ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function reportCsv(report: Report): string {
  const lines = [COLUMNS.map(([name]) => name).join(',')];
  for (const day of report.days) lines.push(COLUMNS.map(([, get]) => cell(get(day))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
