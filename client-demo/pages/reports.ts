// Reports (/reports) for staff, doctors and admins: the period's figures, charts of the day's flow, waits,
// no-shows per doctor and ETA accuracy over the weeks, the per-doctor table, and a CSV download.
import { accessToken, api, qs, requireUser } from '../lib/api.js';
import { COLORS, chartCard } from '../lib/charts.js';
import { mountChrome } from '../lib/chrome.js';
import { addDays, h, main, render, toast } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { type PeriodState, periodControls } from '../lib/period.js';
import { dataTable } from '../lib/table.js';

interface Figures {
  appointments: number;
  byStatus: Record<string, number>;
  booked: number;
  walkIns: number;
  cancellationsBy: Record<string, number>;
  wait: { samples: number; median: number | null; p90: number | null };
  consult: { samples: number; median: number | null; p90: number | null };
  noShowRate: number | null;
  eta: {
    samples: number;
    rangeSamples: number;
    medianAbsErrorMinutes: number | null;
    insideRangeShare: number | null;
    naive: { medianAbsErrorMinutes: number | null; insideRangeShare: number | null };
  };
  feedback: {
    count: number;
    rating: number | null;
    waitRating: number | null;
    wouldRecommendShare: number | null;
  };
  revenue: { invoiced: number; paid: number; currency: string | null };
}
interface Report {
  from: string;
  to: string;
  totals: Figures;
  doctors: (Figures & { doctorId: string; doctorName: string })[];
  hourly: { hour: number; arrivals: number; calls: number }[];
  waitDistribution: { fromMinutes: number; toMinutes: number | null; count: number }[];
  etaByWeek: {
    week: string;
    samples: number;
    medianAbsErrorMinutes: number | null;
    naiveMedianAbsErrorMinutes: number | null;
  }[];
}

const ETA_WEEKS = 8;
const user = requireUser('staff', 'admin', 'doctor');
const body = h('div', { class: 'report', 'aria-live': 'polite' });

const minutes = (v: number | null) => (v === null ? '—' : `${v} min`);
const money = (v: number, currency: string | null) =>
  `${v.toLocaleString()}${currency ? ` ${currency}` : ''}`;
const percent = (v: number | null) => (v === null ? '—' : `${Math.round(v * 100)}%`);

function stat(label: string, value: string, hint?: string) {
  return h(
    'div',
    { class: 'stat' },
    h('b', {}, value),
    label,
    hint ? h('div', { class: 'hint' }, hint) : null,
  );
}

function summary(f: Figures) {
  return h(
    'section',
    { class: 'card', 'aria-label': 'Summary' },
    h(
      'div',
      { class: 'stats report-stats' },
      stat('Appointments', String(f.appointments), `${f.booked} booked · ${f.walkIns} walk-ins`),
      stat('Completed', String(f.byStatus.completed ?? 0), `${f.byStatus.cancelled ?? 0} cancelled`),
      stat('No-show rate', percent(f.noShowRate), `${f.byStatus.noShow ?? 0} no-shows`),
      stat('Wait (median)', minutes(f.wait.median), `90th percentile ${minutes(f.wait.p90)}`),
      stat('Consult (median)', minutes(f.consult.median), `90th percentile ${minutes(f.consult.p90)}`),
      stat(
        'ETA error (median)',
        minutes(f.eta.medianAbsErrorMinutes),
        `naive serial × slot: ${minutes(f.eta.naive.medianAbsErrorMinutes)}`,
      ),
      stat(
        'Feedback',
        f.feedback.rating === null ? '—' : `${f.feedback.rating} / 5`,
        `wait ${f.feedback.waitRating ?? '—'} / 5 · ${f.feedback.count} answers · recommend ${percent(f.feedback.wouldRecommendShare)}`,
      ),
      stat(
        'Invoiced',
        money(f.revenue.invoiced, f.revenue.currency),
        `paid ${money(f.revenue.paid, f.revenue.currency)}`,
      ),
      stat(
        'Calls inside the range shown',
        percent(f.eta.insideRangeShare),
        `naive slot: ${percent(f.eta.naive.insideRangeShare)} · ${f.eta.rangeSamples} calls`,
      ),
    ),
  );
}

function charts(r: Report, weeks: Report['etaByWeek']) {
  const busiest = r.hourly.filter((x) => x.arrivals + x.calls > 0);
  const hours =
    busiest.length > 0 ? r.hourly.slice(busiest[0].hour, busiest[busiest.length - 1].hour + 1) : r.hourly;
  const peak = hours.reduce((a, b) => (b.arrivals > a.arrivals ? b : a), hours[0]);
  const waits = r.waitDistribution;
  const byNoShows = [...r.doctors].sort((a, b) => (b.byStatus.noShow ?? 0) - (a.byStatus.noShow ?? 0));
  return h(
    'div',
    { class: 'grid report-charts' },
    chartCard('Arrivals and calls per hour', `busiest arrival hour ${peak?.hour ?? '—'}:00`, {
      type: 'bar',
      data: {
        labels: hours.map((x) => `${String(x.hour).padStart(2, '0')}:00`),
        datasets: [
          { label: 'Arrivals', data: hours.map((x) => x.arrivals), backgroundColor: COLORS.brand },
          { label: 'Calls', data: hours.map((x) => x.calls), backgroundColor: COLORS.ok },
        ],
      },
    }),
    chartCard('Wait before being called', `median ${minutes(r.totals.wait.median)}`, {
      type: 'bar',
      data: {
        labels: waits.map((b) =>
          b.toMinutes === null ? `${b.fromMinutes}+` : `${b.fromMinutes}–${b.toMinutes}`,
        ),
        datasets: [
          {
            label: 'Patients (minutes waited)',
            data: waits.map((b) => b.count),
            backgroundColor: COLORS.brand,
          },
        ],
      },
    }),
    chartCard('No-shows per doctor', `${r.totals.byStatus.noShow ?? 0} in all`, {
      type: 'bar',
      data: {
        labels: byNoShows.map((d) => d.doctorName),
        datasets: [
          {
            label: 'No-shows',
            data: byNoShows.map((d) => d.byStatus.noShow ?? 0),
            backgroundColor: COLORS.danger,
          },
        ],
      },
      options: { indexAxis: 'y' },
    }),
    chartCard(
      'Revenue per doctor',
      `invoiced ${money(r.totals.revenue.invoiced, r.totals.revenue.currency)}`,
      {
        type: 'bar',
        data: {
          labels: r.doctors.map((d) => d.doctorName),
          datasets: [
            {
              label: 'Invoiced',
              data: r.doctors.map((d) => d.revenue.invoiced),
              backgroundColor: COLORS.brand,
            },
            { label: 'Paid', data: r.doctors.map((d) => d.revenue.paid), backgroundColor: COLORS.ok },
          ],
        },
      },
    ),
    chartCard('ETA error over the weeks', `median error by week, ${weeks.length} weeks`, {
      type: 'line',
      data: {
        labels: weeks.map((w) => w.week),
        datasets: [
          {
            label: 'Shown ETA (min)',
            data: weeks.map((w) => w.medianAbsErrorMinutes),
            borderColor: COLORS.brand,
            backgroundColor: COLORS.brand,
          },
          {
            label: 'Naive serial × slot (min)',
            data: weeks.map((w) => w.naiveMedianAbsErrorMinutes),
            borderColor: COLORS.warn,
            backgroundColor: COLORS.warn,
            borderDash: [6, 4],
          },
        ],
      },
    }),
  );
}

function doctorTable(r: Report) {
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, 'By doctor'),
    r.doctors.length === 0
      ? h('p', { class: 'empty' }, 'No appointments in this period.')
      : dataTable(
          [
            'Doctor',
            'Appointments',
            'Completed',
            'No-shows',
            'Cancelled',
            'Wait (median)',
            'Consult (median)',
            'ETA error',
            'Naive error',
          ],
          r.doctors.map((d) => [
            d.doctorName,
            d.appointments,
            d.byStatus.completed ?? 0,
            d.byStatus.noShow ?? 0,
            d.byStatus.cancelled ?? 0,
            minutes(d.wait.median),
            minutes(d.consult.median),
            minutes(d.eta.medianAbsErrorMinutes),
            minutes(d.eta.naive.medianAbsErrorMinutes),
          ]),
        ),
  );
}

function scopeParams(state: PeriodState) {
  return { hospitalId: user?.role === 'admin' ? state.hospitalId : undefined };
}

async function downloadCsv(state: PeriodState) {
  const res = await fetch(
    `/v1/reports/appointments${qs({ period: state.view, date: state.date, ...scopeParams(state) })}`,
    {
      headers: { accept: 'text/csv', authorization: `Bearer ${accessToken()}` },
    },
  );
  if (!res.ok) return toast('The CSV could not be made. Sign in again and retry.', 'error');
  const link = h('a', {
    href: URL.createObjectURL(await res.blob()),
    download: `appointments-${state.view}-${state.date}.csv`,
  });
  link.click();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

let shown = 0;
async function show(state: PeriodState) {
  const ticket = ++shown;
  render(body, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const [report, trend] = await Promise.all([
      api.get<Report>(
        `/reports/appointments${qs({ period: state.view, date: state.date, ...scopeParams(state) })}`,
      ),
      api.get<Report>(
        `/reports/appointments${qs({ from: addDays(state.date, -7 * ETA_WEEKS + 1), to: state.date, ...scopeParams(state) })}`,
      ),
    ]);
    if (ticket !== shown) return;
    render(
      body,
      h(
        'div',
        { class: 'row spread' },
        h('p', { class: 'muted' }, `${report.from} to ${report.to}`),
        h(
          'button',
          { type: 'button', class: 'secondary', onclick: () => void downloadCsv(state) },
          'Download CSV',
        ),
      ),
      summary(report.totals),
      charts(report, trend.etaByWeek),
      doctorTable(report),
    );
  } catch (err) {
    if (ticket === shown) render(body, h('p', { class: 'error-text', role: 'alert' }, errorText(err)));
  }
}

mountChrome();
if (user)
  render(
    main(),
    h('h1', {}, user.role === 'doctor' ? 'My reports' : 'Reports'),
    periodControls((state) => void show(state), { day: 'Day', week: 'Week', month: 'Month' }),
    body,
  );
