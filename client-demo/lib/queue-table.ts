// Today's queue as the front desk and the doctor console list it: serial, patient (walk-in and urgent marks),
// status, place in line, and a button for each step the entry's status allows.
import { h, STATUS_LABEL } from './dom.js';
import { isWaiting, type QueueEntry, type WatchedQueue } from './live.js';
import { type EntryAction, entryOp } from './queue-ops.js';
import { askReason } from './reason-picker.js';
import { dataTable } from './table.js';
import { pill } from './widgets.js';

export interface QueueTableOptions {
  /** Complete and No-show on the called patient: the doctor's own steps, which the desk leaves to them. */
  finishCalled?: boolean;
}

function entryActions(queue: WatchedQueue, e: QueueEntry, options: QueueTableOptions) {
  const id = e.appointmentId;
  if (!id) return [];
  const btn = (
    label: string,
    action: EntryAction,
    cls = 'secondary small',
    run = () => entryOp(queue, id, action),
  ) =>
    h(
      'button',
      { type: 'button', class: cls, onclick: run, 'aria-label': `${label} serial ${e.serial}` },
      label,
    );
  /** Out of order (anyone but the next in line) and recalls need a reason; the next in line is called as is. */
  const withReason = (action: 'call' | 'recall') => async () => {
    if (action === 'call' && e.position === 0) return entryOp(queue, id, 'call');
    const reason = await askReason(action, e.serial, e.priority ?? 0);
    if (reason) return entryOp(queue, id, action, { reason });
  };
  return [
    e.status === 'booked' || e.status === 'confirmed' ? btn('Check in', 'check-in') : null,
    isWaiting(e.status) ? btn('Call now', 'call', 'secondary small', withReason('call')) : null,
    e.status === 'skipped' ? btn('Recall', 'recall', 'secondary small', withReason('recall')) : null,
    options.finishCalled && e.status === 'called'
      ? [btn('Complete', 'complete', 'ok small'), btn('No-show', 'no-show', 'warn small')]
      : null,
  ];
}

function entryRow(queue: WatchedQueue, e: QueueEntry, options: QueueTableOptions) {
  return h(
    'tr',
    { class: e.status === 'called' ? 'is-called' : '', 'data-serial': e.serial },
    h('td', { class: 'serial' }, e.serial),
    h(
      'td',
      { class: 'name' },
      e.name ?? '—',
      e.kind === 'walk_in' ? h('span', { class: 'muted' }, ' (walk-in)') : null,
      (e.priority ?? 0) > 0 ? [' ', pill('priority', 'Urgent')] : null,
    ),
    h('td', {}, pill(e.status, STATUS_LABEL[e.status] ?? e.status)),
    h('td', {}, e.position === null ? '' : e.position === 0 ? 'next' : `${e.position} ahead`),
    h('td', { class: 'row' }, ...entryActions(queue, e, options)),
  );
}

/** Every entry of the queue's snapshot, in its order. */
export function queueTable(queue: WatchedQueue, options: QueueTableOptions = {}) {
  return dataTable(
    ['#', 'Patient', 'Status', 'Place', h('span', { class: 'visually-hidden' }, 'Actions')],
    (queue.snapshot?.entries ?? []).map((e) => entryRow(queue, e, options)),
    { class: 'queue-list' },
  );
}
