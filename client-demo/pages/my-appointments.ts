// A signed-in patient's appointments, with the live view of today's ones and cancel.
import { ApiError, api, type PageOf, qs, requireUser } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import type { Opening } from '../lib/directory.js';
import {
  addDays,
  formatDate,
  formatTime,
  h,
  localDate,
  main,
  render,
  STATUS_LABEL,
  toast,
} from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { type InvoiceRow, invoicePart, loadInvoices } from '../lib/invoices.js';
import { connectionBadge, Live } from '../lib/live.js';
import { loadCurrencies, money } from '../lib/money.js';
import { myRecordsSection } from '../lib/my-records.js';
import { field, pill, ratingChoice, select } from '../lib/widgets.js';

interface AppointmentRow {
  id: string;
  doctorId?: string;
  queueId: string;
  serial: number;
  date: string;
  status: string;
  estimatedAt?: string;
  doctorName?: string;
  doctor?: { name: string } | null;
  hospitalName?: string;
  hospital?: { name: string; timezone?: string } | null;
  patientName?: string | null;
  room?: string | null;
}

const user = requireUser('patient');
const list = h('div', { class: 'stack', 'aria-live': 'polite' });
const conn = h('span', { class: 'conn connecting', role: 'status' }, 'Connecting…');
const live = user
  ? new Live({
      onState: (state, last) => {
        const badge = connectionBadge(state, last);
        conn.className = badge.cls;
        conn.textContent = badge.text;
      },
    })
  : null;
const positions = new Map<string, number | null>();
let invoices = new Map<string, InvoiceRow>();
/** Reviews sent from this page (rating), so the card shows the thanks instead of the form. */
const reviewed = new Map<string, number | null>();
const reviewing = new Set<string>();
const reviewForms = new Map<string, HTMLFormElement>();

function reviewForm(a: AppointmentRow) {
  const message = h('div', { role: 'alert' });
  const legendId = `rate-${a.id}`;
  const form = h(
    'form',
    {
      class: 'review-form',
      'data-testid': 'review-form',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const data = new FormData(form);
        const rating = Number(data.get('rating'));
        const comment = String(data.get('comment') ?? '').trim();
        if (!rating) {
          render(message, h('p', { class: 'notice error' }, 'Choose from 1 to 5 stars.'));
          return;
        }
        try {
          await api.post(`/appointments/${a.id}/review`, { rating, ...(comment ? { comment } : {}) });
          reviewed.set(a.id, rating);
          toast('Thank you for your review');
        } catch (err) {
          if (err instanceof ApiError && err.code === 'CONFLICT') reviewed.set(a.id, null);
          else {
            render(message, h('p', { class: 'notice error' }, errorText(err)));
            return;
          }
        }
        reviewing.delete(a.id);
        reviewForms.delete(a.id);
        paint();
      },
    },
    ratingChoice('rating', 'How was the visit?', legendId),
    h(
      'div',
      { class: 'field' },
      h('label', { for: `comment-${a.id}` }, 'Comment (optional, shown on the doctor’s profile)'),
      h('textarea', { id: `comment-${a.id}`, name: 'comment', maxlength: '2000', rows: '3' }),
    ),
    message,
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit' }, 'Send review'),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () => {
            reviewing.delete(a.id);
            reviewForms.delete(a.id);
            paint();
          },
        },
        'Not now',
      ),
    ),
  );
  return form;
}

function reviewPart(a: AppointmentRow) {
  if (a.status !== 'completed') return null;
  if (reviewed.has(a.id)) {
    const rating = reviewed.get(a.id);
    return h(
      'p',
      { class: 'notice ok', 'data-testid': 'review-done' },
      rating ? `You rated this visit ${rating} of 5. Thank you! ` : 'You have already rated this visit. ',
      a.doctorId ? h('a', { href: `/doctors/${a.doctorId}` }, 'See the doctor’s reviews') : null,
    );
  }
  if (reviewing.has(a.id)) {
    // The same form node across repaints (live updates of other cards), so typed text survives.
    let form = reviewForms.get(a.id);
    if (!form) {
      form = reviewForm(a);
      reviewForms.set(a.id, form);
    }
    return form;
  }
  return h(
    'button',
    {
      type: 'button',
      class: 'secondary small',
      onclick: () => {
        reviewing.add(a.id);
        paint();
        (document.querySelector(`#rate-${a.id}-5`) as HTMLInputElement | null)?.focus();
      },
    },
    'Rate this visit',
  );
}
const ACTIVE = new Set(['booked', 'confirmed', 'checked_in', 'called']);

function card(a: AppointmentRow) {
  const active = ACTIVE.has(a.status);
  const position = positions.get(a.id);
  return h(
    'article',
    { class: 'card spread', 'data-appointment-id': a.id },
    h(
      'div',
      { style: 'flex:1;min-width:0' },
      h('h3', {}, `Serial ${a.serial} · ${a.doctor?.name ?? a.doctorName ?? 'Doctor'}`),
      h(
        'div',
        { class: 'muted' },
        `${formatDate(a.date)} · ${a.hospital?.name ?? a.hospitalName ?? ''}${a.room ? ` · room ${a.room}` : ''} · about ${formatTime(a.estimatedAt, a.hospital?.timezone)}`,
      ),
      a.patientName ? h('div', { class: 'muted' }, `For ${a.patientName}`) : null,
      position !== undefined && position !== null
        ? h('div', { style: 'font-weight:700' }, position === 0 ? 'You are next' : `${position} ahead of you`)
        : null,
      a.status === 'completed' ? invoicePart(invoices.get(a.id)) : null,
      reviewPart(a),
    ),
    h(
      'div',
      { class: 'row' },
      pill(a.status, STATUS_LABEL[a.status] ?? a.status),
      active && a.status !== 'called'
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary small',
              onclick: async () => {
                if (!confirm('Cancel this appointment?')) return;
                try {
                  await api.post(`/appointments/${a.id}/cancel`, { reason: 'Cancelled by the patient' });
                  toast('Appointment cancelled');
                  void load();
                } catch (err) {
                  toast(errorText(err), 'error');
                }
              },
            },
            'Cancel',
          )
        : null,
      active && a.status !== 'called' && a.status !== 'checked_in' && a.doctorId
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary small',
              'data-testid': 'reschedule',
              onclick: () => {
                rescheduling = rescheduling === a.id ? null : a.id;
                paint();
              },
            },
            'Reschedule',
          )
        : null,
    ),
    rescheduling === a.id ? reschedulePanel(a) : null,
  );
}

/** The appointment being moved, and its panel (kept across live repaints). */
let rescheduling: string | null = null;
const reschedulePanels = new Map<string, HTMLElement>();

/** The doctor's next bookable days with room; choosing one moves the booking in one step. */
function reschedulePanel(a: AppointmentRow) {
  const existing = reschedulePanels.get(a.id);
  if (existing) return existing;
  const el = h(
    'section',
    {
      class: 'card subtle',
      style: 'flex-basis:100%',
      'aria-label': 'Reschedule',
      'data-testid': 'reschedule-panel',
    },
    h('p', { class: 'muted' }, 'Loading the doctor’s days…'),
  );
  reschedulePanels.set(a.id, el);
  const message = h('div', { role: 'alert' });
  const from = localDate(a.hospital?.timezone);
  api
    .get<PageOf<Opening>>(`/doctors/${a.doctorId}/availability${qs({ from, to: addDays(from, 13) })}`)
    .then(async (page) => {
      await loadCurrencies(page.items.map((o) => o.hospital.id));
      const choices = page.items.filter(
        (o) => o.remaining > 0 && !(o.date === a.date && o.queueId === a.queueId),
      );
      render(
        el,
        h('h3', { style: 'margin-top:0' }, 'Move to another day'),
        choices.length
          ? h(
              'div',
              { class: 'days' },
              choices.map((o) =>
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'day',
                    'data-date': o.date,
                    onclick: async () => {
                      try {
                        await api.post(`/appointments/${a.id}/reschedule`, {
                          sessionId: o.sessionId,
                          date: o.date,
                        });
                        toast(`Moved to ${formatDate(o.date)}. Your tracking link still works.`);
                        rescheduling = null;
                        reschedulePanels.delete(a.id);
                        void load();
                      } catch (err) {
                        render(message, h('p', { class: 'notice error' }, errorText(err)));
                      }
                    },
                  },
                  h('strong', {}, formatDate(o.date)),
                  `${formatTime(o.start, a.hospital?.timezone)}–${formatTime(o.end, a.hospital?.timezone)}`,
                  h('br'),
                  h('span', { class: 'muted' }, o.hospital.name),
                  h('br'),
                  h('b', {}, `${o.remaining} free · ${money(o.fee, o.hospital.id)}`),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'No other day with room in the next two weeks.'),
        message,
      );
    })
    .catch((err) => render(el, h('p', { class: 'notice error' }, errorText(err))));
  return el;
}

interface WaitlistEntry {
  id: string;
  queueId: string;
  profileId: string;
  status: string;
  offerExpiresAt: string | null;
  createdAt: string;
}

interface Dependent {
  id: string;
  name: string;
  relation: string;
  dateOfBirth: string | null;
  phone: string | null;
}

const waitlistEl = h('div', { class: 'stack', 'data-testid': 'my-waitlist' });
const dependentsEl = h('div', { class: 'stack', 'data-testid': 'dependents' });
const RELATIONS: [string, string][] = [
  ['child', 'Child'],
  ['parent', 'Parent'],
  ['spouse', 'Spouse'],
  ['sibling', 'Sibling'],
  ['other', 'Other'],
];

async function loadWaitlist() {
  try {
    const entries = (await api.get<PageOf<WaitlistEntry>>('/waitlist')).items.filter((w) =>
      ['waiting', 'offered'].includes(w.status),
    );
    render(
      waitlistEl,
      entries.length
        ? entries.map((w) =>
            h(
              'article',
              { class: 'card spread', 'data-waitlist-id': w.id },
              h(
                'div',
                {},
                w.status === 'offered'
                  ? h('b', {}, `A place is free for you until ${formatTime(w.offerExpiresAt)}`)
                  : h('span', {}, 'Waiting for a place to free up'),
                h('div', { class: 'muted' }, `Joined ${new Date(w.createdAt).toLocaleDateString()}`),
              ),
              h(
                'div',
                { class: 'row' },
                w.status === 'offered'
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'ok small',
                        onclick: () =>
                          waitlistStep(
                            () => api.post(`/waitlist/${w.id}/accept`, {}),
                            'Booked from the waitlist',
                          ),
                      },
                      'Accept the place',
                    )
                  : null,
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary small',
                    onclick: () => waitlistStep(() => api.del(`/waitlist/${w.id}`), 'Left the waitlist'),
                  },
                  'Leave',
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'You are not waiting for any full session.'),
    );
  } catch (err) {
    render(waitlistEl, h('p', { class: 'notice error' }, errorText(err)));
  }
}

async function waitlistStep(send: () => Promise<unknown>, done: string) {
  try {
    await send();
    toast(done);
  } catch (err) {
    toast(errorText(err), 'error');
  }
  void loadWaitlist();
  void load();
}

function dependentForm(d?: Dependent) {
  const message = h('div', { role: 'alert' });
  const form = h(
    'form',
    {
      class: 'card subtle',
      'data-testid': d ? 'dependent-edit' : 'dependent-add',
      'aria-label': d ? `Edit ${d.name}` : 'Add a family member',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const data = new FormData(form);
        const value = (k: string) => String(data.get(k) ?? '').trim();
        const body = {
          name: value('name'),
          relation: value('relation'),
          dateOfBirth: value('dateOfBirth') || null,
          phone: value('phone') || null,
        };
        try {
          if (d) await api.patch(`/me/dependents/${d.id}`, body);
          else await api.post('/me/dependents', body);
          toast(d ? 'Saved' : `${body.name} added`);
          editing = null;
          void loadDependents();
        } catch (err) {
          render(message, h('p', { class: 'notice error' }, errorText(err)));
        }
      },
    },
    h('h3', { style: 'margin-top:0' }, d ? `Edit ${d.name}` : 'Add a family member'),
    h(
      'div',
      { class: 'fields' },
      field('name', 'Full name', h('input', { required: true, value: d?.name ?? '', maxlength: '120' })),
      field(
        'relation',
        'Relation',
        (() => {
          const el = select('relation', RELATIONS, d?.relation ?? 'child');
          el.required = true;
          return el;
        })(),
      ),
      field(
        'dateOfBirth',
        'Date of birth (optional)',
        h('input', { type: 'date', value: d?.dateOfBirth ?? '', max: localDate() }),
      ),
      field('phone', 'Phone (optional)', h('input', { type: 'tel', value: d?.phone ?? '' })),
    ),
    message,
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit' }, d ? 'Save' : 'Add'),
      d
        ? h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: () => {
                editing = null;
                void loadDependents();
              },
            },
            'Close',
          )
        : null,
    ),
  );
  return form;
}

let editing: string | null = null;

async function loadDependents() {
  try {
    const deps = (await api.get<PageOf<Dependent>>('/me/dependents')).items;
    render(
      dependentsEl,
      deps.length
        ? deps.map((d) =>
            editing === d.id
              ? dependentForm(d)
              : h(
                  'article',
                  { class: 'card spread', 'data-dependent-id': d.id },
                  h(
                    'div',
                    {},
                    h('b', {}, d.name),
                    h(
                      'span',
                      { class: 'muted' },
                      ` · ${RELATIONS.find(([v]) => v === d.relation)?.[1] ?? d.relation}`,
                    ),
                    d.dateOfBirth ? h('div', { class: 'muted' }, `Born ${formatDate(d.dateOfBirth)}`) : null,
                  ),
                  h(
                    'div',
                    { class: 'row' },
                    h(
                      'button',
                      {
                        type: 'button',
                        class: 'secondary small',
                        'aria-label': `Edit ${d.name}`,
                        onclick: () => {
                          editing = d.id;
                          void loadDependents();
                        },
                      },
                      'Edit',
                    ),
                    h('a', { class: 'button small', href: '/' }, `Book for ${d.name}`),
                  ),
                ),
          )
        : h('p', { class: 'muted' }, 'Add a child or parent to book for them from any doctor’s page.'),
      dependentForm(),
    );
  } catch (err) {
    render(dependentsEl, h('p', { class: 'notice error' }, errorText(err)));
  }
}

let rows: AppointmentRow[] = [];
function paint() {
  for (const id of reschedulePanels.keys()) if (id !== rescheduling) reschedulePanels.delete(id);
  const upcoming = rows.filter((a) => ACTIVE.has(a.status));
  const past = rows.filter((a) => !ACTIVE.has(a.status));
  render(
    list,
    h('h2', {}, 'Upcoming'),
    upcoming.length
      ? upcoming.map(card)
      : h('p', { class: 'muted' }, 'Nothing booked. ', h('a', { href: '/' }, 'Find a doctor')),
    past.length ? [h('h2', {}, 'History'), ...past.map(card)] : null,
  );
}

async function load() {
  try {
    rows = (await api.get<PageOf<AppointmentRow>>('/appointments?limit=50')).items;
    paint();
    if (rows.some((r) => r.status === 'completed'))
      void loadInvoices()
        .then((found) => {
          invoices = found;
          paint();
        })
        .catch(() => {});
    for (const a of rows.filter((r) => ACTIVE.has(r.status))) {
      live?.watchAppointment(a.id, (data) => {
        if ('position' in data) positions.set(a.id, data.position as number | null);
        if (typeof data.status === 'string') a.status = data.status;
        paint();
      });
    }
  } catch (err) {
    render(list, h('p', { class: 'notice error' }, errorText(err)));
  }
}

const records = myRecordsSection();

if (user) {
  mountChrome();
  render(
    main(),
    h('div', { class: 'spread' }, h('h1', {}, 'My appointments'), conn),
    list,
    h('h2', {}, 'Waitlist'),
    waitlistEl,
    h('h2', { id: 'family' }, 'Family members'),
    dependentsEl,
    h('h2', { id: 'records' }, 'My records and prescriptions'),
    records.section,
  );
  void load();
  void loadWaitlist();
  void loadDependents();
  void records.load();
}
