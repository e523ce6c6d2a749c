// A signed-in patient's appointments, with the live view of today's ones and cancel.
import { ApiError, api, type PageOf, requireUser } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { formatDate, formatTime, h, main, render, STATUS_LABEL, toast } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { connectionBadge, Live } from '../lib/live.js';
import { pill } from '../lib/widgets.js';

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
    h(
      'fieldset',
      { class: 'rating', 'aria-labelledby': legendId },
      h('legend', { id: legendId }, 'How was the visit?'),
      [1, 2, 3, 4, 5].map((n) => {
        const id = `${legendId}-${n}`;
        return h(
          'span',
          { class: 'rating-option' },
          h('input', { type: 'radio', name: 'rating', value: n, id, required: true }),
          h('label', { for: id }, `${n} ${n === 1 ? 'star' : 'stars'}`),
        );
      }),
    ),
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
    ),
  );
}

let rows: AppointmentRow[] = [];
function paint() {
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

if (user) {
  mountChrome();
  render(main(), h('div', { class: 'spread' }, h('h1', {}, 'My appointments'), conn), list);
  void load();
}
