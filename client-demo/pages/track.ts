// Patient phone view (/t/:trackingToken): serial, people ahead, now serving, estimated time, live.
import { ApiError, api } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { formatTime, h, main, minutesUntil, render, STATUS_LABEL, toast } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { icsUrl } from '../lib/ics.js';
import { connectionBadge, Live } from '../lib/live.js';

/** GET /v1/track/:token, read defensively (nested or flat doctor / hospital). */
interface Tracking {
  appointmentId?: string;
  queueId?: string;
  serial: number;
  status: string;
  position: number | null;
  nowServing: number | null;
  etaAt?: string | null;
  estimatedAt?: string | null;
  date?: string;
  room?: string | null;
  doctor?: { id?: string; name: string } | string | null;
  doctorName?: string;
  hospital?: { id?: string; name: string; address?: string; timezone?: string } | string | null;
  hospitalName?: string;
  queueStatus?: string;
  paused?: boolean;
  notice?: string | null;
  canCheckIn?: boolean;
  [extra: string]: unknown;
}

const token = decodeURIComponent(location.pathname.split('/')[2] ?? '');
const conn = h(
  'span',
  { class: 'conn connecting', 'data-testid': 'connection', role: 'status' },
  'Connecting…',
);
const view = h('div', { class: 'stack', 'data-testid': 'track' });
let current: Tracking | null = null;
let wasCalled = false;
let calendarUrl: string | null = null;
/** A refused link: nothing to follow, so the badge must not say Live. */
let broken = false;

const nameOf = (v: Tracking['doctor'] | Tracking['hospital'], flat?: string) =>
  (typeof v === 'string' ? v : v?.name) ?? flat ?? '—';

function eta(t: Tracking): string | null | undefined {
  return t.etaAt ?? t.estimatedAt;
}

/** What a patient passed over or marked absent should do now. */
function guidance(t: Tracking) {
  const text: Record<string, string> = {
    skipped:
      'You were called but not found, so the doctor moved on. You keep your serial: go to the front desk now and ask to be recalled — you will be seen after the patient with the doctor.',
    no_show:
      'You were marked as not here. If you are at the hospital, go to the front desk now; staff can add you back as a walk-in. Otherwise book a new time.',
    cancelled: 'This appointment is cancelled. Book again if you still need to see the doctor.',
  };
  if (!text[t.status]) return null;
  return h(
    'div',
    { class: `notice ${t.status === 'cancelled' ? '' : 'warn'}`, role: 'alert', 'data-testid': 'what-now' },
    h('p', { style: 'margin:0' }, text[t.status]),
    t.status === 'skipped'
      ? null
      : h('p', { style: 'margin:.4rem 0 0' }, h('a', { href: '/' }, 'Book a new time')),
  );
}

function paint(t: Tracking) {
  const doctor = nameOf(t.doctor, t.doctorName);
  const hospitalName = nameOf(t.hospital, t.hospitalName);
  const timeZone = typeof t.hospital === 'object' ? t.hospital?.timezone : undefined;
  const called = t.status === 'called';
  const waiting = ['booked', 'confirmed', 'checked_in'].includes(t.status);
  const minutes = minutesUntil(eta(t));
  if (called && !wasCalled && navigator.userActivation?.hasBeenActive && 'vibrate' in navigator) {
    navigator.vibrate([400, 150, 400, 150, 400]);
  }
  wasCalled = called;
  const canCheckIn = t.canCheckIn ?? (t.status === 'booked' || t.status === 'confirmed');
  if (!calendarUrl && eta(t)) {
    calendarUrl = icsUrl({
      uid: t.appointmentId ?? token.slice(0, 16),
      start: new Date(eta(t) as string),
      minutes: 15,
      title: `Serial ${t.serial} with ${doctor}`,
      location: hospitalName,
      url: location.href,
    });
  }
  render(
    view,
    called
      ? h(
          'div',
          { class: 'turn', role: 'alert', 'data-testid': 'your-turn' },
          `It's your turn${t.room ? ` — room ${t.room}` : ''}`,
          h('small', {}, `${doctor} is ready for serial ${t.serial}`),
        )
      : null,
    h(
      'section',
      { class: 'card ticket' },
      h('div', { class: 'label' }, 'Your serial'),
      h('div', { class: 'serial', 'data-testid': 'serial' }, t.serial),
      waiting
        ? h(
            'div',
            { class: 'ahead', 'data-testid': 'position', 'data-position': t.position ?? '' },
            t.position === 0
              ? 'You are next'
              : t.position === null
                ? 'Waiting'
                : `${t.position} ahead of you`,
          )
        : h(
            'div',
            { class: 'ahead', 'data-testid': 'status' },
            called
              ? `Please go to ${t.room ? `room ${t.room}` : 'the doctor'}`
              : (STATUS_LABEL[t.status] ?? t.status),
          ),
      guidance(t),
      t.paused || t.queueStatus === 'paused'
        ? h('p', { class: 'notice' }, `The doctor has paused the queue${t.notice ? `: ${t.notice}` : ''}.`)
        : null,
      h(
        'div',
        { class: 'stats' },
        h(
          'div',
          { class: 'stat' },
          h('b', { 'data-testid': 'now-serving' }, t.nowServing ?? '—'),
          'now serving',
        ),
        h(
          'div',
          { class: 'stat' },
          h('b', {}, waiting ? formatTime(eta(t), timeZone) : '—'),
          waiting && minutes !== null ? `about ${minutes} min` : 'estimated time',
        ),
      ),
      canCheckIn && waiting && t.status !== 'checked_in'
        ? h(
            'button',
            { type: 'button', class: 'ok', onclick: checkIn, 'data-testid': 'check-in' },
            "I'm here — check in",
          )
        : null,
    ),
    h(
      'section',
      { class: 'card' },
      h(
        'dl',
        { class: 'facts' },
        h('dt', {}, 'Doctor'),
        h('dd', {}, doctor),
        h('dt', {}, 'Hospital'),
        h('dd', {}, hospitalName),
        h('dt', {}, 'Room'),
        h('dd', {}, t.room ?? '—'),
        t.date ? [h('dt', {}, 'Date'), h('dd', {}, t.date)] : null,
        h('dt', {}, 'Status'),
        h('dd', { 'data-testid': 'status-text' }, STATUS_LABEL[t.status] ?? t.status),
      ),
      calendarUrl
        ? h(
            'p',
            {},
            h(
              'a',
              { href: calendarUrl, download: `carequeue-serial-${t.serial}.ics` },
              'Add to calendar (.ics)',
            ),
          )
        : null,
    ),
    h('p', { class: 'row muted' }, conn),
  );
}

async function load() {
  try {
    current = await api.get<Tracking>(`/track/${encodeURIComponent(token)}`, { auth: false });
    paint(current);
    if (current.appointmentId) live.watchAppointment(current.appointmentId, () => scheduleRefresh());
    if (current.queueId) live.watchQueue(current.queueId, () => scheduleRefresh());
  } catch (err) {
    const bad =
      'This tracking link is not valid or has expired. Check the link in your SMS, or ask the front desk.';
    broken = err instanceof ApiError && err.status >= 400 && err.status < 500;
    render(
      view,
      h(
        'div',
        { class: 'card', role: 'alert', 'data-testid': 'track-error' },
        h(
          'p',
          { class: 'notice error', style: 'margin-top:0' },
          errorText(err, {
            NOT_FOUND: bad,
            VALIDATION_FAILED: bad,
            URI_TOO_LONG: bad,
            HEADERS_TOO_LARGE: bad,
          }),
        ),
        h(
          'p',
          {},
          h('a', { href: '/me/appointments' }, 'My appointments'),
          ' · ',
          h('a', { href: '/' }, 'Find a doctor'),
        ),
      ),
    );
    if (broken) {
      live.socket.disconnect();
      conn.className = 'conn offline';
      conn.textContent = 'Not following a queue';
      conn.dataset.state = 'error';
      view.append(h('p', { class: 'row muted' }, conn));
    }
  }
}

let refreshTimer: number | undefined;
function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = window.setTimeout(async () => {
    try {
      current = await api.get<Tracking>(`/track/${encodeURIComponent(token)}`, { auth: false });
      paint(current);
    } catch {
      // Keep the last state; the connection indicator shows it may be stale.
    }
  }, 60);
}

async function checkIn() {
  try {
    await api.post(`/track/${encodeURIComponent(token)}/check-in`, {}, { auth: false });
    toast('Checked in. Please take a seat.');
    scheduleRefresh();
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

const live = new Live({
  auth: { trackingToken: token },
  onState: (state, last) => {
    if (broken) return;
    const badge = connectionBadge(state, last);
    conn.className = badge.cls;
    conn.textContent = badge.text;
    conn.dataset.state = state;
    if (state === 'live') scheduleRefresh();
  },
});

mountChrome();
render(main(), h('h1', { class: 'visually-hidden' }, 'Your place in the queue'), view);
void load();
window.setInterval(() => current && paint(current), 30_000);
