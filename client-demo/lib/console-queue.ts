// The doctor console's live queue: today's sessions as tabs, the patient being seen, call next / complete /
// skip / no-show / pause and resume with their keyboard shortcuts, and the queue with names.
import { formatTime, h, render, toast } from './dom.js';
import { errorText } from './errors.js';
import { connectionBadge, Live, type QueueEntry, type WatchedQueue } from './live.js';
import { type EntryAction, entryOp, queueOp } from './queue-ops.js';
import { queueTable } from './queue-table.js';
import { doctorQueuesToday, type QueueSummary, queueIdOf } from './queues.js';

export interface LiveQueuePanel {
  panel: HTMLElement;
  /** Resyncs on the doctor's notices, reads today's sessions and follows the first. */
  start: () => void;
  /** The keydown handler for the shortcuts; it does nothing while the panel is hidden or a field has focus. */
  shortcuts: (e: KeyboardEvent) => void;
  /** The appointment of the patient being seen in the chosen session, or null. */
  currentAppointment: () => string | null;
}

/** The patient being seen: the snapshot's now-serving serial, when that entry is still called (one rule for every screen). */
function current(queue: WatchedQueue): QueueEntry | undefined {
  const serving = queue.snapshot?.nowServing;
  if (serving === null || serving === undefined) return undefined;
  return queue.snapshot?.entries.find((e) => e.status === 'called' && e.serial === serving);
}

export function liveQueuePanel(doctorId: string | null | undefined): LiveQueuePanel {
  const conn = h(
    'span',
    { class: 'conn connecting', 'data-testid': 'connection', role: 'status' },
    'Connecting…',
  );
  const live = new Live({
    onState: (state, last) => {
      const badge = connectionBadge(state, last);
      conn.className = badge.cls;
      conn.textContent = badge.text;
    },
  });
  const todayPanel = h('div', { 'data-testid': 'today' });
  let summaries: QueueSummary[] = [];
  let selected: WatchedQueue | null = null;

  /** A step on the patient being seen, from a button or a shortcut. */
  const onCurrent = (action: EntryAction) => () => {
    const c = selected && current(selected);
    if (selected && c?.appointmentId) return entryOp(selected, c.appointmentId, action);
    toast('No patient is being seen', 'error');
  };

  const act = {
    next: () => selected && queueOp(selected, 'call-next'),
    complete: onCurrent('complete'),
    skip: onCurrent('skip'),
    noShow: onCurrent('no-show'),
    pauseToggle: () => {
      if (!selected) return;
      if (selected.paused) return queueOp(selected, 'resume');
      const input = document.getElementById('pause-message') as HTMLInputElement | null;
      const message = input?.value.trim();
      return queueOp(selected, 'pause', message ? { message } : {});
    },
  };

  function paintQueue() {
    if (!selected?.snapshot) return;
    const queue = selected;
    const snap = queue.snapshot as NonNullable<typeof queue.snapshot>;
    const summary = summaries.find((s) => queueIdOf(s) === queue.queueId);
    const c = current(queue);
    const waiting = queue.waiting();
    const key = (k: string) => h('kbd', {}, k);
    render(
      todayPanel,
      summaries.length > 1
        ? h(
            'div',
            { class: 'tabs', role: 'tablist', 'aria-label': 'Sessions today' },
            summaries.map((s) =>
              h(
                'button',
                {
                  type: 'button',
                  role: 'tab',
                  'aria-selected': String(queueIdOf(s) === queue.queueId),
                  onclick: () => choose(queueIdOf(s)),
                },
                `${s.hospitalName ?? ''} ${formatTime(s.startsAt)}`,
              ),
            ),
          )
        : null,
      h(
        'div',
        { class: 'console' },
        h(
          'section',
          { class: 'card' },
          h(
            'div',
            { class: 'spread' },
            h(
              'h2',
              { style: 'margin:0' },
              `${summary?.hospitalName ?? 'Today'}${summary?.room ? ` · room ${summary.room}` : ''}`,
            ),
            conn,
          ),
          h(
            'div',
            { class: 'serving', style: 'margin-top:.8rem' },
            h('div', { class: 'big', 'data-testid': 'now-serving' }, snap.nowServing ?? '—'),
            h(
              'div',
              {},
              h('div', { class: 'muted' }, 'Now serving'),
              h(
                'div',
                { style: 'font-size:1.3rem;font-weight:700' },
                c?.name ?? (c ? `Serial ${c.serial}` : 'No one called yet'),
              ),
              h('div', { class: 'muted' }, `${waiting.length} waiting`),
            ),
          ),
          queue.paused
            ? h(
                'p',
                { class: 'notice' },
                `Paused${snap.notice ? ` — ${snap.notice}` : ''}. Patients see this notice.`,
              )
            : null,
          h(
            'div',
            { class: 'actions' },
            h(
              'button',
              {
                type: 'button',
                onclick: act.next,
                'data-testid': 'call-next',
                disabled: waiting.length === 0 || snap.status === 'closed',
              },
              'Call next ',
              key('N'),
            ),
            h(
              'button',
              { type: 'button', class: 'ok', onclick: act.complete, disabled: !c },
              'Complete ',
              key('C'),
            ),
            h(
              'button',
              { type: 'button', class: 'secondary', onclick: act.skip, disabled: !c },
              'Skip ',
              key('S'),
            ),
            h(
              'button',
              { type: 'button', class: 'warn', onclick: act.noShow, disabled: !c },
              'No-show ',
              key('X'),
            ),
          ),
          h(
            'div',
            { class: 'row' },
            queue.paused
              ? null
              : h('label', { for: 'pause-message', class: 'visually-hidden' }, 'Pause message'),
            queue.paused
              ? null
              : h('input', {
                  id: 'pause-message',
                  placeholder: 'Pause message, e.g. Back in 15 minutes',
                  style: 'flex:1;min-width:200px',
                }),
            h(
              'button',
              { type: 'button', class: 'secondary', onclick: act.pauseToggle },
              queue.paused ? 'Resume ' : 'Pause ',
              key('P'),
            ),
          ),
          h(
            'p',
            { class: 'hint' },
            'Shortcuts: ',
            key('N'),
            ' next · ',
            key('C'),
            ' complete · ',
            key('S'),
            ' skip · ',
            key('X'),
            ' no-show · ',
            key('P'),
            ' pause/resume',
          ),
        ),
        h(
          'section',
          { class: 'card' },
          h('h2', { style: 'margin-top:0' }, 'Queue'),
          snap.entries.length
            ? queueTable(queue, { finishCalled: true })
            : h('p', { class: 'empty' }, 'No one in the queue yet.'),
        ),
      ),
    );
  }

  function choose(queueId: string) {
    for (const id of live.watchedQueues()) if (id !== queueId) live.unwatchQueue(id);
    selected = live.watchQueue(queueId, () => paintQueue());
    paintQueue();
  }

  async function loadToday() {
    if (!doctorId) {
      render(todayPanel, h('p', { class: 'notice' }, 'This account has no doctor profile.'));
      return;
    }
    try {
      summaries = await doctorQueuesToday(doctorId);
    } catch (err) {
      render(todayPanel, h('p', { class: 'notice error' }, errorText(err)));
      return;
    }
    if (!summaries.length) {
      render(
        todayPanel,
        h(
          'p',
          { class: 'empty card' },
          'No session with patients today. Bookings for today create the queue.',
        ),
      );
      return;
    }
    choose(queueIdOf(summaries[0]));
  }

  function shortcuts(e: KeyboardEvent) {
    const target = e.target as HTMLElement;
    if (
      e.ctrlKey ||
      e.metaKey ||
      e.altKey ||
      ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName) ||
      todayPanel.hidden
    )
      return;
    const run = { n: act.next, c: act.complete, s: act.skip, x: act.noShow, p: act.pauseToggle }[
      e.key.toLowerCase()
    ];
    if (run) {
      e.preventDefault();
      void run();
    }
  }

  function start() {
    live.onNotice(() => void selected?.resync());
    void loadToday();
  }

  const currentAppointment = () => (selected && current(selected)?.appointmentId) ?? null;

  return { panel: todayPanel, start, shortcuts, currentAppointment };
}
