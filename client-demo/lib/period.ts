// The period controls the schedule and reports pages share: day / week / month tabs, a date with previous and
// next, and (for admins) a hospital picker. The state lives in the URL (?view=&date=&hospitalId=), changed
// with history.pushState, so switching never reloads and a link or a reload shows the same view.
import { currentUser } from './api.js';
import { addDays, h, localDate } from './dom.js';
import { hospitals } from './queues.js';
import { field } from './widgets.js';

export const VIEWS = ['day', 'week', 'month'] as const;
export type View = (typeof VIEWS)[number];

export interface PeriodState {
  view: View;
  date: string;
  hospitalId: string;
}

export function readState(): PeriodState {
  const params = new URLSearchParams(location.search);
  const view = params.get('view');
  const date = params.get('date');
  return {
    view: VIEWS.includes(view as View) ? (view as View) : 'week',
    date: date && /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : localDate(),
    hospitalId: params.get('hospitalId') ?? currentUser()?.hospitalId ?? '',
  };
}

/** First and last date of the view holding `date`: the day, its ISO week (Monday first), its month. */
export function rangeOf(state: PeriodState): { from: string; to: string } {
  const { view, date } = state;
  if (view === 'day') return { from: date, to: date };
  if (view === 'week') {
    const weekday = (new Date(`${date}T00:00:00Z`).getUTCDay() + 6) % 7;
    const from = addDays(date, -weekday);
    return { from, to: addDays(from, 6) };
  }
  const from = `${date.slice(0, 8)}01`;
  const next = new Date(`${from}T00:00:00Z`);
  next.setUTCMonth(next.getUTCMonth() + 1);
  return { from, to: addDays(next.toISOString().slice(0, 10), -1) };
}

function step(state: PeriodState, direction: 1 | -1): string {
  if (state.view === 'day') return addDays(state.date, direction);
  if (state.view === 'week') return addDays(state.date, 7 * direction);
  const d = new Date(`${state.date.slice(0, 8)}01T00:00:00Z`);
  d.setUTCMonth(d.getUTCMonth() + direction);
  return d.toISOString().slice(0, 10);
}

/** Builds the controls; `onChange` runs on every change (after the URL is updated) and once at the start. */
export function periodControls(onChange: (state: PeriodState) => void, labels: Record<View, string>) {
  let state = readState();
  const set = (patch: Partial<PeriodState>) => {
    state = { ...state, ...patch };
    const params = new URLSearchParams({ view: state.view, date: state.date });
    if (state.hospitalId) params.set('hospitalId', state.hospitalId);
    history.pushState(null, '', `${location.pathname}?${params}`);
    sync();
    onChange(state);
  };
  const tabs = VIEWS.map((v) =>
    h('button', { type: 'button', role: 'tab', 'data-view': v, onclick: () => set({ view: v }) }, labels[v]),
  );
  const dateInput = h('input', {
    type: 'date',
    name: 'date',
    onchange: () => dateInput.value && set({ date: dateInput.value }),
  });
  const hospitalSelect = h('select', {
    name: 'hospitalId',
    onchange: () => set({ hospitalId: hospitalSelect.value }),
  });
  const sync = () => {
    for (const t of tabs) t.setAttribute('aria-selected', String(t.dataset.view === state.view));
    dateInput.value = state.date;
    hospitalSelect.value = state.hospitalId;
  };
  const isAdmin = currentUser()?.role === 'admin';
  if (isAdmin)
    void hospitals().then((list) => {
      hospitalSelect.replaceChildren(
        h('option', { value: '' }, 'All hospitals'),
        ...list.map((x) => h('option', { value: x.id }, x.name)),
      );
      hospitalSelect.value = state.hospitalId;
    });
  window.addEventListener('popstate', () => {
    state = readState();
    sync();
    onChange(state);
  });
  const el = h(
    'div',
    { class: 'period' },
    h('div', { class: 'tabs', role: 'tablist', 'aria-label': 'Period' }, tabs),
    h(
      'div',
      { class: 'row period-nav' },
      h(
        'button',
        { type: 'button', class: 'secondary', onclick: () => set({ date: step(state, -1) }) },
        '← Previous',
      ),
      field('date', 'Date', dateInput),
      h(
        'button',
        { type: 'button', class: 'secondary', onclick: () => set({ date: step(state, 1) }) },
        'Next →',
      ),
      h('button', { type: 'button', class: 'secondary', onclick: () => set({ date: localDate() }) }, 'Today'),
      isAdmin ? field('hospitalId', 'Hospital', hospitalSelect) : null,
    ),
  );
  sync();
  queueMicrotask(() => onChange(state));
  return el;
}
