// A signed-in patient's appointments, with the live view of today's ones and cancel.
import { api, type PageOf, requireUser } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { errorText, formatDate, formatTime, h, main, render, STATUS_LABEL, toast } from '../lib/dom.js';
import { connectionBadge, Live } from '../lib/live.js';
import { pill } from '../lib/widgets.js';

interface AppointmentRow {
  id: string;
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
const ACTIVE = new Set(['booked', 'confirmed', 'checked_in', 'called']);

function card(a: AppointmentRow) {
  const active = ACTIVE.has(a.status);
  const position = positions.get(a.id);
  return h(
    'article',
    { class: 'card spread' },
    h(
      'div',
      {},
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
