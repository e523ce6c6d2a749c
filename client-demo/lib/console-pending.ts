// The doctor console's pending patients: the doctor's appointments on a chosen day, today at first.
import { api, type PageOf, qs } from './api.js';
import { formatDate, formatTime, h, localDate, render, STATUS_LABEL } from './dom.js';
import { errorText } from './errors.js';
import { dataTable } from './table.js';
import { pill } from './widgets.js';

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

export interface PendingPanel {
  panel: HTMLElement;
  /** Renders the date picker and the list for today; called each time the tab opens. */
  open: () => void;
}

export function pendingPanel(doctorId: string | null | undefined): PendingPanel {
  const panel = h('div', { hidden: true });

  async function loadPending(date: string, list: HTMLElement) {
    try {
      const page = await api.get<PageOf<AppointmentRow>>(
        `/appointments${qs({ date, doctorId, limit: 100 })}`,
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
      panel,
      h('div', { class: 'row field' }, h('label', { for: 'pending-date' }, 'Patients on'), date),
      list,
    );
    void loadPending(date.value, list);
  }

  return { panel, open: mountPending };
}
