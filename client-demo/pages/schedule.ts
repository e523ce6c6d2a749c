// Staff schedule views (/desk/schedule): one day's sittings as a list, a week as a doctors × days grid, a
// month as a calendar; every cell is coloured by load (booked ÷ capacity). Switching never reloads.
import { api, qs, requireUser } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { addDays, formatDate, h, main, render } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { type PeriodState, periodControls, rangeOf } from '../lib/period.js';
import { dataTable } from '../lib/table.js';

interface Sitting {
  date: string;
  sessionId: string;
  queueId: string | null;
  doctorId: string;
  doctorName: string;
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

const user = requireUser('staff', 'admin', 'doctor');
const body = h('section', { class: 'card schedule', 'aria-live': 'polite' });

/** Load bands: the class and the words a screen reader hears. */
function load(s: { booked: number; capacity: number }): { band: string; label: string } {
  const share = s.capacity > 0 ? s.booked / s.capacity : 0;
  const band =
    share >= 1 ? 'full' : share >= 0.75 ? 'high' : share >= 0.4 ? 'mid' : share > 0 ? 'low' : 'none';
  return { band, label: `${s.booked} of ${s.capacity} booked` };
}

function loadCell(items: Sitting[]) {
  if (items.length === 0) return h('span', { class: 'muted' }, '—');
  const booked = items.reduce((n, s) => n + s.booked, 0);
  const capacity = items.reduce((n, s) => n + s.capacity, 0);
  const { band, label } = load({ booked, capacity });
  const off = items.every((s) => s.timeOff || s.status === 'cancelled');
  return h(
    'span',
    { class: `load ${off ? 'off' : band}`, title: label },
    off ? 'Off' : `${booked}/${capacity}`,
    h('span', { class: 'visually-hidden' }, ` ${label}`),
  );
}

function dayList(items: Sitting[]) {
  if (items.length === 0) return h('p', { class: 'empty' }, 'No sittings on this day.');
  return dataTable(
    ['Doctor', 'Time', 'Status', 'Load', 'Checked in', 'Completed', 'No-shows', 'Cancelled', 'Waitlist'],
    items.map((s) => [
      s.doctorName,
      `${s.start}–${s.end}`,
      s.timeOff ? 'time off' : s.status,
      loadCell([s]),
      s.checkedIn,
      s.completed,
      s.noShows,
      s.cancellations,
      s.waitlist,
    ]),
    { class: 'schedule-day' },
  );
}

function dates(from: string, to: string): string[] {
  const out: string[] = [];
  for (let d = from; d <= to; d = addDays(d, 1)) out.push(d);
  return out;
}

function doctorsOf(items: Sitting[]): [string, string][] {
  const names = new Map<string, string>();
  for (const s of items) names.set(s.doctorId, s.doctorName);
  return [...names.entries()].sort((a, b) => a[1].localeCompare(b[1]));
}

function weekGrid(items: Sitting[], from: string, to: string) {
  const days = dates(from, to);
  const doctors = doctorsOf(items);
  if (doctors.length === 0) return h('p', { class: 'empty' }, 'No sittings this week.');
  return dataTable(
    ['Doctor', ...days.map((d) => formatDate(d))],
    doctors.map(([id, name]) => [
      name,
      ...days.map((d) => loadCell(items.filter((s) => s.doctorId === id && s.date === d))),
    ]),
    { class: 'schedule-grid' },
  );
}

function monthCalendar(items: Sitting[], from: string, to: string) {
  const lead = (new Date(`${from}T00:00:00Z`).getUTCDay() + 6) % 7;
  const cells = [...Array.from({ length: lead }, () => null), ...dates(from, to)];
  const weeks: (string | null)[][] = [];
  for (let i = 0; i < cells.length; i += 7) weeks.push(cells.slice(i, i + 7));
  const doctors = doctorsOf(items);
  return h(
    'table',
    { class: 'schedule-month' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map((d) => h('th', { scope: 'col' }, d)),
      ),
    ),
    h(
      'tbody',
      {},
      weeks.map((week) =>
        h(
          'tr',
          {},
          week.map((date) =>
            date
              ? h(
                  'td',
                  {},
                  h('div', { class: 'month-day' }, String(Number(date.slice(8)))),
                  h(
                    'ul',
                    { class: 'month-doctors' },
                    doctors
                      .map(
                        ([id, name]) =>
                          [name, items.filter((s) => s.doctorId === id && s.date === date)] as const,
                      )
                      .filter(([, day]) => day.length > 0)
                      .map(([name, day]) =>
                        h(
                          'li',
                          {},
                          h('span', { class: 'month-name' }, name.replace(/^Dr\.?\s+/, '')),
                          loadCell(day),
                        ),
                      ),
                  ),
                )
              : h('td', { class: 'outside' }),
          ),
        ),
      ),
    ),
  );
}

let shown = 0;
async function show(state: PeriodState) {
  const ticket = ++shown;
  const { from, to } = rangeOf(state);
  render(body, h('p', { class: 'muted' }, 'Loading…'));
  try {
    const page = await api.get<{ items: Sitting[] }>(
      `/schedule${qs({ from, to, hospitalId: user?.role === 'admin' ? state.hospitalId : undefined })}`,
    );
    if (ticket !== shown) return;
    const title = state.view === 'day' ? formatDate(from) : `${formatDate(from)} – ${formatDate(to)}`;
    render(
      body,
      h('h2', {}, title),
      state.view === 'day'
        ? dayList(page.items)
        : state.view === 'week'
          ? weekGrid(page.items, from, to)
          : monthCalendar(page.items, from, to),
      h(
        'p',
        { class: 'hint legend' },
        'Load: ',
        ...['low', 'mid', 'high', 'full'].map((band) =>
          h(
            'span',
            { class: `load ${band}` },
            { low: 'under 40%', mid: '40–75%', high: '75–99%', full: 'full' }[band] as string,
          ),
        ),
      ),
    );
  } catch (err) {
    if (ticket === shown) render(body, h('p', { class: 'error-text', role: 'alert' }, errorText(err)));
  }
}

mountChrome();
if (user)
  render(
    main(),
    h('h1', {}, 'Schedule'),
    periodControls((state) => void show(state), { day: 'Day', week: 'Week', month: 'Month' }),
    body,
  );
