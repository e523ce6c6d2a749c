// Doctor console: today's queue with names, call next / complete / skip / no-show / recall, pause and resume,
// keyboard shortcuts; pending patients by date; own profile and weekly sessions.
import { ApiError, api, type PageOf, qs, requireUser } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import type { DoctorProfile } from '../lib/directory.js';
import {
  errorText,
  formatDate,
  formatTime,
  formValues,
  h,
  localDate,
  main,
  render,
  STATUS_LABEL,
  toast,
} from '../lib/dom.js';
import { connectionBadge, Live, type QueueEntry, type WatchedQueue } from '../lib/live.js';
import { type EntryAction, entryOp, queueOp } from '../lib/queue-ops.js';
import { queueTable } from '../lib/queue-table.js';
import { doctorQueuesToday, hospitals, type QueueSummary, queueIdOf } from '../lib/queues.js';
import { dataTable } from '../lib/table.js';
import { field, pill, select } from '../lib/widgets.js';

const user = requireUser('doctor');
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
const pendingPanel = h('div', { hidden: true });
const profilePanel = h('div', { hidden: true });
let summaries: QueueSummary[] = [];
let selected: WatchedQueue | null = null;
const WEEKDAYS = ['', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

function current(queue: WatchedQueue): QueueEntry | undefined {
  const entries = queue.snapshot?.entries ?? [];
  return (
    entries.find((e) => e.status === 'called' && e.serial === queue.snapshot?.nowServing) ??
    entries.find((e) => e.status === 'called')
  );
}

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
  if (!user?.doctorId) {
    render(todayPanel, h('p', { class: 'notice' }, 'This account has no doctor profile.'));
    return;
  }
  try {
    summaries = await doctorQueuesToday(user.doctorId);
  } catch (err) {
    render(todayPanel, h('p', { class: 'notice error' }, errorText(err)));
    return;
  }
  if (!summaries.length) {
    render(
      todayPanel,
      h('p', { class: 'empty card' }, 'No session with patients today. Bookings for today create the queue.'),
    );
    return;
  }
  choose(queueIdOf(summaries[0]));
}

interface AppointmentRow {
  id: string;
  serial: number;
  date: string;
  status: string;
  estimatedAt?: string;
  patientName?: string | null;
  profile?: { name: string } | null;
  name?: string | null;
  hospital?: { name: string } | null;
  hospitalName?: string;
}

async function loadPending(date: string, list: HTMLElement) {
  try {
    const page = await api.get<PageOf<AppointmentRow>>(
      `/appointments${qs({ date, doctorId: user?.doctorId, limit: 100 })}`,
    );
    render(
      list,
      page.items.length
        ? dataTable(
            ['#', 'Patient', 'Estimated', 'Status'],
            page.items.map((a) => [
              a.serial,
              a.patientName ?? a.profile?.name ?? a.name ?? '—',
              formatTime(a.estimatedAt),
              pill(a.status, STATUS_LABEL[a.status] ?? a.status),
            ]),
          )
        : h('p', { class: 'empty' }, `No appointments on ${formatDate(date)}.`),
    );
  } catch (err) {
    render(list, h('p', { class: 'notice error' }, errorText(err)));
  }
}

function mountPending() {
  const list = h('div', { class: 'card' });
  const date = h('input', {
    type: 'date',
    value: localDate(),
    id: 'pending-date',
    onchange: () => void loadPending(date.value, list),
  });
  render(
    pendingPanel,
    h('div', { class: 'row field' }, h('label', { for: 'pending-date' }, 'Patients on'), date),
    list,
  );
  void loadPending(date.value, list);
}

interface SessionRow {
  id: string;
  hospital: { name: string };
  weekday: number;
  start: string;
  end: string;
  slotMinutes: number;
  capacity: number;
  room: string | null;
  fee: number;
}

/** Sends a change the doctor made; a toast says it is done, or why not. */
async function attempt(send: () => Promise<unknown>, done: string, after?: () => Promise<void>) {
  try {
    await send();
    toast(done);
    void after?.();
  } catch (err) {
    toast(errorText(err), 'error');
  }
}

/** An onsubmit handler: sends the form's values through attempt instead of reloading the page. */
function sending(
  send: (values: Record<string, string>) => Promise<unknown>,
  done: string,
  after?: () => Promise<void>,
) {
  return (e: Event) => {
    e.preventDefault();
    const values = formValues(e.target as HTMLFormElement);
    return attempt(() => send(values), done, after);
  };
}

async function mountProfile() {
  if (!user?.doctorId) return;
  const doctorId = user.doctorId;
  const profile = await api.get<DoctorProfile>(`/doctors/${doctorId}`).catch(() => null);
  const sessions = await api
    .get<PageOf<SessionRow>>(`/doctors/${doctorId}/sessions`)
    .catch(() => ({ items: [] as SessionRow[] }));
  const editor = h('div', { 'data-testid': 'session-editor' });
  const hospitalOptions = (await hospitals().catch(() => [])).map((x): [string, string] => [
    x.id,
    `${x.name}, ${x.city}`,
  ]);
  const profileForm = h(
    'form',
    {
      class: 'card',
      onsubmit: sending(
        (v) =>
          api.patch(`/doctors/${doctorId}`, {
            bio: v.bio ?? '',
            experienceYears: v.experienceYears ? Number(v.experienceYears) : null,
          }),
        'Profile saved',
      ),
    },
    h('h2', { style: 'margin-top:0' }, 'My profile'),
    field('bio', 'About me', h('textarea', {}, profile?.bio ?? '')),
    field(
      'experienceYears',
      'Years of experience',
      h('input', { type: 'number', min: '0', max: '80', value: profile?.experienceYears ?? '' }),
    ),
    h('button', { type: 'submit' }, 'Save profile'),
  );
  const sessionForm = h(
    'form',
    {
      class: 'card',
      onsubmit: sending(
        (v) =>
          api.post(`/doctors/${doctorId}/sessions`, {
            hospitalId: v.hospitalId,
            weekday: Number(v.weekday),
            start: v.start,
            end: v.end,
            slotMinutes: Number(v.slotMinutes),
            ...(v.room ? { room: v.room } : {}),
            ...(v.fee ? { fee: Number(v.fee) } : {}),
          }),
        'Session added',
        mountProfile,
      ),
    },
    h('h2', { style: 'margin-top:0' }, 'Weekly sessions'),
    sessions.items.length
      ? h(
          'table',
          {},
          h(
            'tbody',
            {},
            sessions.items.map((s) =>
              h(
                'tr',
                { 'data-session-id': s.id },
                h('td', {}, WEEKDAYS[s.weekday]),
                h('td', {}, `${s.start}–${s.end}`),
                h('td', {}, s.hospital.name),
                h('td', {}, s.room ? `room ${s.room}` : ''),
                h('td', {}, `${s.capacity} × ${s.slotMinutes} min`),
                h(
                  'td',
                  { class: 'row' },
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'secondary small',
                      'aria-label': `Edit ${WEEKDAYS[s.weekday]} ${s.start}–${s.end}`,
                      onclick: () => {
                        render(editor, sessionEditor(s));
                        (editor.querySelector('input') as HTMLInputElement | null)?.focus();
                      },
                    },
                    'Edit',
                  ),
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'secondary small',
                      'aria-label': `Remove ${WEEKDAYS[s.weekday]} ${s.start}–${s.end}`,
                      onclick: () =>
                        attempt(() => api.del(`/sessions/${s.id}`), 'Session removed', mountProfile),
                    },
                    'Remove',
                  ),
                ),
              ),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No weekly sessions yet.'),
    editor,
    h('h3', { style: 'margin-top:1rem' }, 'Add a session'),
    h(
      'div',
      { class: 'fields' },
      field('hospitalId', 'Hospital', select('hospitalId', hospitalOptions)),
      field(
        'weekday',
        'Day',
        select(
          'weekday',
          WEEKDAYS.slice(1).map((d, i): [string, string] => [String(i + 1), d]),
        ),
      ),
      field('start', 'Starts', h('input', { type: 'time', value: '09:00', required: true })),
      field('end', 'Ends', h('input', { type: 'time', value: '12:00', required: true })),
      field(
        'slotMinutes',
        'Minutes per patient',
        h('input', { type: 'number', min: '1', value: '10', required: true }),
      ),
      field('room', 'Room', h('input', {})),
      field('fee', 'Fee', h('input', { type: 'number', min: '0' })),
    ),
    h('button', { type: 'submit' }, 'Add session'),
  );
  render(profilePanel, h('div', { class: 'stack' }, profileForm, sessionForm));
}

/** Edits one weekly session; a change that would cancel bookings is refused first and then offered. */
function sessionEditor(s: SessionRow) {
  const message = h('div', { role: 'alert' });
  const save = async (cancelAffected: boolean) => {
    const v = formValues(form);
    // Only what changed: an unchanged capacity left out lets the server refit it to new hours.
    const edited: Record<string, unknown> = {
      start: v.start,
      end: v.end,
      slotMinutes: Number(v.slotMinutes),
      capacity: Number(v.capacity),
      room: v.room ?? null,
      fee: Number(v.fee ?? 0),
    };
    const body: Record<string, unknown> = Object.fromEntries(
      Object.entries(edited).filter(([k, value]) => value !== s[k as keyof SessionRow]),
    );
    if (cancelAffected)
      Object.assign(body, { cancelAffected: true, reason: 'The doctor changed this session' });
    try {
      const result = await api.patch<{ cancelledAppointmentIds: string[] }>(`/sessions/${s.id}`, body);
      const n = result.cancelledAppointmentIds.length;
      toast(n ? `Session saved; ${n} booking(s) cancelled and the patients told` : 'Session saved');
      void mountProfile();
    } catch (err) {
      const affected =
        err instanceof ApiError && err.code === 'CONFLICT'
          ? (err.details as { affectedAppointments?: number } | undefined)?.affectedAppointments
          : undefined;
      if (!affected) {
        render(message, h('p', { class: 'notice error' }, errorText(err)));
        return;
      }
      render(
        message,
        h(
          'div',
          { class: 'notice warn', 'data-testid': 'affected-bookings' },
          h(
            'p',
            { style: 'margin-top:0' },
            `Not saved: this change would cancel ${affected} booked appointment(s). `,
            'Keep the times, or cancel those bookings (each patient is told) and save.',
          ),
          h(
            'button',
            {
              type: 'button',
              class: 'warn',
              onclick: () => {
                if (confirm(`Cancel ${affected} booking(s) and save the new session times?`)) void save(true);
              },
            },
            `Cancel ${affected} affected booking(s) and save`,
          ),
        ),
      );
    }
  };
  const form = h(
    'form',
    {
      class: 'card subtle',
      'aria-labelledby': 'edit-session-title',
      onsubmit: (e: Event) => {
        e.preventDefault();
        void save(false);
      },
    },
    h(
      'h3',
      { id: 'edit-session-title', style: 'margin-top:0' },
      `Edit ${WEEKDAYS[s.weekday]} at ${s.hospital.name}`,
    ),
    h(
      'div',
      { class: 'fields' },
      field('start', 'Starts', h('input', { type: 'time', value: s.start, required: true })),
      field('end', 'Ends', h('input', { type: 'time', value: s.end, required: true })),
      field(
        'slotMinutes',
        'Minutes per patient',
        h('input', { type: 'number', min: '1', value: s.slotMinutes, required: true }),
      ),
      field(
        'capacity',
        'Patients',
        h('input', { type: 'number', min: '1', value: s.capacity, required: true }),
      ),
      field('room', 'Room', h('input', { value: s.room ?? '' })),
      field('fee', 'Fee', h('input', { type: 'number', min: '0', value: s.fee })),
    ),
    message,
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit' }, 'Save changes'),
      h('button', { type: 'button', class: 'secondary', onclick: () => form.remove() }, 'Close'),
    ),
  );
  return form;
}

function tabs() {
  const panels: [string, HTMLElement, () => void][] = [
    ['Today', todayPanel, () => {}],
    ['Pending patients', pendingPanel, mountPending],
    ['Profile & sessions', profilePanel, () => void mountProfile()],
  ];
  const bar = h('div', { class: 'tabs', role: 'tablist' });
  for (const [label, panel, onOpen] of panels) {
    bar.append(
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          'aria-selected': String(panel === todayPanel),
          onclick: (e: Event) => {
            for (const b of bar.children) b.setAttribute('aria-selected', 'false');
            (e.currentTarget as HTMLElement).setAttribute('aria-selected', 'true');
            for (const [, p] of panels) p.hidden = p !== panel;
            onOpen();
          },
        },
        label,
      ),
    );
  }
  return bar;
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

if (user) {
  mountChrome();
  render(main(), h('h1', {}, `Good day, ${user.name}`), tabs(), todayPanel, pendingPanel, profilePanel);
  document.addEventListener('keydown', shortcuts);
  live.onNotice(() => void selected?.resync());
  void loadToday();
}
