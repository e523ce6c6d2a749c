// Doctor console: today's queue with names, call next / complete / skip / no-show / recall, pause and resume,
// keyboard shortcuts; the called patient's visit record; pending patients by date; own profile and weekly
// sessions. The tabs live in lib/console-*.ts; this page wires them.
import { requireUser } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { pendingPanel } from '../lib/console-pending.js';
import { profilePanel } from '../lib/console-profile.js';
import { liveQueuePanel } from '../lib/console-queue.js';
import { recordPanel } from '../lib/console-record.js';
import { h, main, render } from '../lib/dom.js';

const user = requireUser('doctor');
const today = liveQueuePanel(user?.doctorId);
const record = recordPanel(today.currentAppointment);
const pending = pendingPanel(user?.doctorId);
const profile = profilePanel(user?.doctorId);

function tabs() {
  const panels: [string, HTMLElement, () => void][] = [
    ['Today', today.panel, () => {}],
    ['Record', record.panel, () => void record.open()],
    ['Pending patients', pending.panel, pending.open],
    ['Profile & sessions', profile.panel, () => void profile.open()],
  ];
  const bar = h('div', { class: 'tabs', role: 'tablist' });
  for (const [label, panel, onOpen] of panels) {
    bar.append(
      h(
        'button',
        {
          type: 'button',
          role: 'tab',
          'aria-selected': String(panel === today.panel),
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

if (user) {
  mountChrome();
  render(
    main(),
    h('h1', {}, `Good day, ${user.name}`),
    tabs(),
    today.panel,
    record.panel,
    pending.panel,
    profile.panel,
  );
  document.addEventListener('keydown', today.shortcuts);
  today.start();
}
