// Lobby TV screen: one panel per doctor in session, now serving and the next serials, live. Serials only.
import { ApiError, api } from '../lib/api.js';
import { h, main, render } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { type ConnectionState, connectionBadge, Live, type WatchedQueue } from '../lib/live.js';
import {
  doctorNameOf,
  type Hospital,
  hospitalQueuesToday,
  hospitals,
  type QueueSummary,
  queueIdOf,
} from '../lib/queues.js';
import { announce, setSound, soundOn } from '../lib/sound.js';

const NEXT_COUNT = 5;
const params = new URLSearchParams(location.search);
const hospitalId = params.get('hospitalId');
const singleQueueId = params.get('queueId');

const summaries = new Map<string, QueueSummary>();
const flashing = new Set<string>();
const watched = new Map<string, WatchedQueue>();
let hospitalInfo: Hospital | null = null;

const conn = h(
  'span',
  { class: 'conn connecting', 'data-testid': 'connection', role: 'status' },
  'Connecting…',
);
const clock = h('span', { class: 'clock', 'aria-hidden': 'true' });
const soundButton = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false' });
const title = h('h1', {}, 'Now serving');
const panels = h('section', { class: 'panels', 'aria-live': 'polite', 'data-testid': 'panels' });
const foot = h(
  'p',
  { class: 'tv-foot' },
  'Please wait for your serial to be called. Follow your place on your phone with the link in your SMS.',
);

function paintSound() {
  const on = soundOn();
  soundButton.textContent = on ? 'Sound on' : 'Sound off';
  soundButton.setAttribute('aria-pressed', String(on));
  soundButton.setAttribute('aria-label', on ? 'Mute call-outs' : 'Turn call-outs on');
}
soundButton.addEventListener('click', () => {
  setSound(!soundOn());
  paintSound();
});

function tick() {
  clock.textContent = new Date().toLocaleTimeString([], {
    hour: '2-digit',
    minute: '2-digit',
    timeZone: hospitalInfo?.timezone,
  });
}

/** Set while the screen cannot show the queue (a bad link, a refused read): the badge must not say Live. */
let cannotShow: string | null = null;

function paintBadge(state: ConnectionState, last: Date | null) {
  if (cannotShow) {
    conn.className = 'conn offline';
    conn.textContent = 'Not showing the queue';
    conn.dataset.state = 'error';
    return;
  }
  const badge = connectionBadge(state, last, hospitalInfo?.timezone);
  conn.className = badge.cls;
  conn.textContent = badge.text;
  conn.dataset.state = state;
  // A stale screen must look stale: the panels dim until the connection is back.
  document.body.classList.toggle('stale', state === 'offline');
}

const live = new Live({ auth: {}, onState: paintBadge });

function cannotLoad(err: unknown) {
  cannotShow = errorText(err, {
    NOT_FOUND: 'This screen’s link names a hospital or queue that does not exist.',
    VALIDATION_FAILED: 'This screen’s link is not valid.',
  });
  paintBadge(live.state, live.lastUpdate);
  render(
    panels,
    h(
      'div',
      { class: 'empty', role: 'alert', 'data-testid': 'screen-error' },
      h('p', {}, cannotShow),
      h('p', {}, 'Ask the front desk to open the lobby screen again from the desk page.'),
    ),
  );
}

function panel(queue: WatchedQueue | undefined, summary: QueueSummary) {
  const id = queueIdOf(summary);
  const snap = queue?.snapshot;
  const waiting = queue?.waiting() ?? [];
  const paused = queue?.paused || snap?.status === 'paused' || summary.status === 'paused';
  const notice = (snap?.notice as string | undefined) ?? (summary.notice as string | undefined);
  const nowServing = snap ? snap.nowServing : (summary.nowServing ?? null);
  return h(
    'article',
    {
      class: `panel${paused ? ' paused' : ''}${flashing.has(id) ? ' flash' : ''}`,
      'data-queue-id': id,
      'aria-label': `${doctorNameOf(summary)}, room ${summary.room ?? '—'}`,
    },
    h(
      'div',
      { class: 'spread' },
      h('div', { class: 'doc' }, doctorNameOf(summary)),
      h('div', { class: 'room' }, summary.room ? `Room ${summary.room}` : ''),
    ),
    h(
      'div',
      { class: 'panel-body' },
      h(
        'div',
        {},
        h('div', { class: 'now-label' }, 'Now serving'),
        h('div', { class: 'now', 'data-testid': 'now-serving' }, nowServing ?? '—'),
      ),
      h(
        'div',
        {},
        h('div', { class: 'next-label' }, 'Next'),
        h(
          'div',
          { class: 'next', 'data-testid': 'next-serials' },
          waiting.length
            ? waiting
                .slice(0, NEXT_COUNT)
                .map((e) =>
                  (e.priority ?? 0) > 0
                    ? h('span', { class: 'urgent', 'aria-label': `${e.serial}, emergency` }, e.serial)
                    : h('span', {}, e.serial),
                )
            : h('em', { class: 'muted' }, 'No one waiting'),
        ),
        waiting.slice(0, NEXT_COUNT).some((e) => (e.priority ?? 0) > 0)
          ? h('div', { class: 'urgent-note', 'data-testid': 'urgent-note' }, '! Emergency — seen first')
          : null,
        h('div', { class: 'waiting-count' }, `${waiting.length} waiting`),
      ),
    ),
    paused ? h('div', { class: 'pause-note', role: 'alert' }, `Paused${notice ? ` — ${notice}` : ''}`) : null,
    snap?.status === 'closed' ? h('div', { class: 'pause-note' }, 'Session closed') : null,
  );
}

function paint() {
  const list = [...summaries.values()].filter((s) => s.status !== 'cancelled');
  render(
    panels,
    list.length
      ? list.map((s) => panel(watched.get(queueIdOf(s)), s))
      : h('p', { class: 'empty' }, 'No doctor is in session right now.'),
  );
}

function watch(summary: QueueSummary) {
  const id = queueIdOf(summary);
  summaries.set(id, { ...summaries.get(id), ...summary });
  if (watched.has(id)) return;
  const queue = live.watchQueue(id, (q, update) => {
    if (update?.type === 'called' && update.serial !== null) {
      flashing.add(id);
      window.setTimeout(() => {
        flashing.delete(id);
        paint();
      }, 4500);
      announce(update.serial, summaries.get(id)?.room);
    }
    const s = summaries.get(id);
    if (s && q.snapshot) s.status = q.snapshot.status;
    paint();
  });
  watched.set(id, queue);
}

async function loadQueues() {
  if (hospitalId) {
    const { hospital, queues } = await hospitalQueuesToday(hospitalId);
    hospitalInfo = hospital;
    title.textContent = hospital.name;
    document.title = `${hospital.name} · Lobby · CareQueue`;
    for (const q of queues) watch(q);
  } else if (singleQueueId) {
    const snap = await api.get<QueueSummary & { doctorName?: string }>(`/queues/${singleQueueId}`);
    watch({ ...snap, queueId: singleQueueId });
  }
  tick();
  paint();
}

async function chooser() {
  const list = await hospitals();
  render(
    main(),
    h(
      'div',
      { class: 'card', style: 'max-width:640px;margin:4rem auto;color:var(--ink)' },
      h('h1', {}, 'Choose the hospital for this screen'),
      h(
        'ul',
        {},
        list.map((hh) =>
          h('li', {}, h('a', { href: `/screen?hospitalId=${hh.id}` }, `${hh.name} — ${hh.city}`)),
        ),
      ),
    ),
  );
}

async function start() {
  if (!hospitalId && !singleQueueId) {
    document.body.classList.remove('tv');
    await chooser();
    return;
  }
  paintSound();
  render(
    main(),
    h('div', { class: 'tv-head' }, title, h('div', { class: 'row' }, conn, soundButton, clock)),
    panels,
    foot,
  );
  tick();
  window.setInterval(tick, 10_000);
  const reload = () =>
    loadQueues().then(
      () => {
        cannotShow = null;
        paintBadge(live.state, live.lastUpdate);
      },
      (err) => {
        // A refusal (bad link) stays on screen; a network blip keeps the last queues and the offline badge.
        if (err instanceof ApiError && err.status > 0 && err.status < 500) cannotLoad(err);
        else if (!summaries.size) cannotLoad(err);
      },
    );
  await reload();
  // New sessions of the day appear without a reload; after a reconnect the list is refreshed too.
  window.setInterval(() => void reload(), 60_000);
  live.socket.on('connect', () => void reload());
}

void start();
