// Front desk: the hospital's queues today, check-in, walk-ins (with priority), recall, booking on behalf,
// doctors' sessions waiting for the hospital's confirmation, and notifications that failed and need a call.
import { api, type PageOf, qs, requireUser } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { formatTime, formValues, h, main, render, toast } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { connectionBadge, Live, type WatchedQueue } from '../lib/live.js';
import { queueOp } from '../lib/queue-ops.js';
import { queueTable } from '../lib/queue-table.js';
import {
  type Hospital,
  hospitalQueuesToday,
  hospitals,
  type QueueSummary,
  queueIdOf,
} from '../lib/queues.js';
import { dataTable } from '../lib/table.js';
import { field, select } from '../lib/widgets.js';

interface PendingSession {
  id: string;
  weekday: number;
  start: string;
  end: string;
  room: string | null;
  doctor: { id: string; name: string };
}

const WEEKDAYS = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

interface Notification {
  id: string;
  kind: string;
  channel: string;
  status: string;
  to: string;
  appointmentId?: string | null;
  attempts: number;
  lastError?: string | null;
  createdAt: string;
}

const user = requireUser('staff', 'admin');
const conn = h('span', { class: 'conn connecting', role: 'status' }, 'Connecting…');
const live = new Live({
  onState: (state, last) => {
    const badge = connectionBadge(state, last);
    conn.className = badge.cls;
    conn.textContent = badge.text;
  },
});
const queuesEl = h('div', { class: 'stack' });
const failuresEl = h('div', {});
const pendingEl = h('div', { 'data-testid': 'pending-sessions' });
const linksEl = h('div', { class: 'stack', 'data-testid': 'walk-in-links' });
const cards = new Map<string, HTMLElement>();
let hospitalInfo: Hospital | null = null;

/** A walk-in's tracking link stays on screen (to read out, copy or text) until the desk dismisses it. */
function showWalkInLink(name: string, serial: number, trackingToken: string) {
  const link = `${location.origin}/t/${trackingToken}`;
  const item = h(
    'div',
    { class: 'notice ok walk-in-link', 'data-testid': 'walk-in-link', role: 'status' },
    h(
      'p',
      { style: 'margin:0' },
      h('b', {}, `${name} — serial ${serial}`),
      '. Tracking link for their phone:',
    ),
    h('p', { style: 'margin:.3rem 0', class: 'link-text' }, h('a', { href: link, target: '_blank' }, link)),
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        {
          type: 'button',
          class: 'secondary small',
          onclick: () =>
            navigator.clipboard?.writeText(link).then(
              () => toast('Link copied'),
              () => toast('Copy the link by hand', 'error'),
            ),
        },
        'Copy link',
      ),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary small',
          onclick: () => item.remove(),
          'aria-label': `Dismiss the link of serial ${serial}`,
        },
        'Dismiss',
      ),
    ),
  );
  linksEl.prepend(item);
}

function walkInForm(queue: WatchedQueue) {
  const form = h(
    'form',
    {
      class: 'fields',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const v = formValues(form);
        const urgent = v.priority === 'emergency';
        const result = await queueOp<{ serial: number; trackingToken: string }>(queue, 'walk-ins', {
          name: v.name,
          ...(v.phone ? { phone: v.phone } : {}),
          ...(urgent ? { priority: 10, reason: 'emergency' } : {}),
        });
        if (result) {
          form.reset();
          showWalkInLink(v.name, result.serial, result.trackingToken);
        }
      },
    },
    field('name', 'Walk-in name', h('input', { required: true, autocomplete: 'off' })),
    field('phone', 'Phone (optional)', h('input', { type: 'tel', autocomplete: 'off' })),
    field(
      'priority',
      'Priority',
      select('priority', [
        ['', 'Normal'],
        ['emergency', 'Emergency — to the front'],
      ]),
    ),
    h('div', { class: 'field' }, h('button', { type: 'submit', style: 'width:100%' }, 'Add walk-in')),
  );
  return form;
}

function paintCard(summary: QueueSummary, queue: WatchedQueue) {
  const card = cards.get(queue.queueId);
  const snap = queue.snapshot;
  if (!card || !snap) return;
  const waiting = queue.waiting();
  render(
    card,
    h(
      'div',
      { class: 'spread' },
      h(
        'h2',
        { style: 'margin:0' },
        `${summary.doctorName ?? 'Doctor'}${summary.room ? ` · room ${summary.room}` : ''}`,
      ),
      h(
        'span',
        { class: 'muted' },
        `${formatTime(summary.startsAt, hospitalInfo?.timezone)}–${formatTime(summary.endsAt, hospitalInfo?.timezone)}`,
      ),
    ),
    h(
      'p',
      {},
      'Now serving ',
      h('b', { style: 'font-size:1.4rem' }, snap.nowServing ?? '—'),
      ` · ${waiting.length} waiting`,
      queue.paused
        ? h(
            'span',
            { class: 'pill skipped', style: 'margin-left:.5rem' },
            `Paused${snap.notice ? `: ${snap.notice}` : ''}`,
          )
        : null,
    ),
    h(
      'div',
      { class: 'row', style: 'margin-bottom:.6rem' },
      h('button', { type: 'button', onclick: () => queueOp(queue, 'call-next') }, 'Call next'),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: () =>
            queueOp(
              queue,
              queue.paused ? 'resume' : 'pause',
              queue.paused ? {} : { message: 'The doctor will be back shortly' },
            ),
        },
        queue.paused ? 'Resume' : 'Pause',
      ),
    ),
    snap.entries.length ? queueTable(queue) : h('p', { class: 'muted' }, 'No one in this queue.'),
    h('h3', { style: 'margin-top:1rem' }, 'Register a walk-in'),
    walkInForm(queue),
  );
}

async function loadQueues(hospitalId: string) {
  try {
    const { hospital, queues } = await hospitalQueuesToday(hospitalId);
    hospitalInfo = hospital;
    render(queuesEl);
    cards.clear();
    for (const id of live.watchedQueues()) live.unwatchQueue(id);
    if (!queues.length) render(queuesEl, h('p', { class: 'card empty' }, 'No sessions with patients today.'));
    for (const summary of queues.filter((q) => q.status !== 'cancelled')) {
      const card = h(
        'section',
        { class: 'card', 'data-queue-id': queueIdOf(summary) },
        h('p', { class: 'muted' }, 'Loading…'),
      );
      cards.set(queueIdOf(summary), card);
      queuesEl.append(card);
      live.watchQueue(queueIdOf(summary), (q) => paintCard(summary, q));
    }
  } catch (err) {
    render(queuesEl, h('p', { class: 'notice error' }, errorText(err)));
  }
}

/** A session a doctor entered at this hospital is bookable once the desk confirms the doctor sits here. */
async function loadPending(hospitalId: string) {
  try {
    const page = await api.get<PageOf<PendingSession>>(`/sessions/pending${qs({ hospitalId })}`);
    const confirm = (s: PendingSession) =>
      h(
        'button',
        {
          type: 'button',
          'aria-label': `Confirm ${s.doctor.name}, ${WEEKDAYS[s.weekday]} ${s.start}–${s.end}`,
          onclick: async () => {
            try {
              await api.post(`/sessions/${s.id}/confirm`);
              toast(`${s.doctor.name}'s ${WEEKDAYS[s.weekday]} session is confirmed and open for booking.`);
              await loadPending(hospitalId);
            } catch (err) {
              toast(errorText(err), 'error');
            }
          },
        },
        'Confirm',
      );
    render(
      pendingEl,
      page.items.length
        ? dataTable(
            ['Doctor', 'Day', 'Time', 'Room', ''],
            page.items.map((s) => [
              s.doctor.name,
              WEEKDAYS[s.weekday],
              `${s.start}–${s.end}`,
              s.room ?? '—',
              confirm(s),
            ]),
          )
        : h('p', { class: 'muted' }, 'No sessions are waiting for confirmation.'),
    );
  } catch (err) {
    render(
      pendingEl,
      h('p', { class: 'muted' }, `Sessions waiting for confirmation are not available: ${errorText(err)}`),
    );
  }
}

async function loadFailures() {
  try {
    const page = await api.get<PageOf<Notification>>(`/notifications${qs({ status: 'failed', limit: 20 })}`);
    render(
      failuresEl,
      page.items.length
        ? dataTable(
            ['Message', 'To', 'Tries', 'Why'],
            page.items.map((n) => [`${n.kind} (${n.channel})`, n.to, n.attempts, n.lastError ?? '—']),
          )
        : h('p', { class: 'muted' }, 'No failed messages.'),
    );
  } catch (err) {
    render(failuresEl, h('p', { class: 'muted' }, `Notifications are not available: ${errorText(err)}`));
  }
}

async function start() {
  if (!user) return;
  mountChrome();
  let hospitalId = user.hospitalId ?? new URLSearchParams(location.search).get('hospitalId');
  const picker = h('div', {});
  if (user.role === 'admin') {
    const all = await hospitals().catch(() => []);
    hospitalId ??= all[0]?.id ?? null;
    const sel = select(
      'hospitalId',
      all.map((x): [string, string] => [x.id, x.name]),
      hospitalId ?? '',
    );
    sel.addEventListener('change', () => location.assign(`/desk?hospitalId=${sel.value}`));
    render(picker, field('hospitalId', 'Hospital', sel));
  }
  if (!hospitalId) {
    render(main(), h('p', { class: 'notice' }, 'This account is not attached to a hospital.'));
    return;
  }
  render(
    main(),
    h(
      'div',
      { class: 'spread' },
      h('h1', {}, 'Front desk'),
      h(
        'div',
        { class: 'row' },
        conn,
        h(
          'a',
          { class: 'button secondary', href: `/screen?hospitalId=${hospitalId}`, target: '_blank' },
          'Open lobby screen',
        ),
        h('a', { class: 'button secondary', href: '/' }, 'Book for a patient'),
      ),
    ),
    picker,
    linksEl,
    queuesEl,
    h('h2', {}, 'Sessions waiting for confirmation'),
    h('section', { class: 'card' }, pendingEl),
    h('h2', {}, 'Messages that failed'),
    h('section', { class: 'card' }, failuresEl),
  );
  const id = hospitalId;
  await Promise.all([loadQueues(id), loadPending(id), loadFailures()]);
  live.socket.on('connect', () => void loadFailures());
}

void start();
