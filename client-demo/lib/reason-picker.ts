// The reason asked before serving a patient out of order (Call now on someone who is not next, Recall): the
// codes the server accepts (ReasonCode in src/modules/queue/queue.schema.ts), one click with a default.
import { h } from './dom.js';

export const REASONS = [
  ['emergency', 'Emergency'],
  ['returning_with_results', 'Returning with test results'],
  ['elderly_disabled', 'Elderly or disabled'],
  ['staff_decision', 'Staff decision'],
] as const;
export type ReasonCode = (typeof REASONS)[number][0];

export type ReasonAction = 'call' | 'recall';

/** The usual reason: an urgent patient called ahead is an emergency; a recalled one is usually back with results. */
export function defaultReason(action: ReasonAction, priority = 0): ReasonCode {
  if (action === 'call') return priority > 0 ? 'emergency' : 'staff_decision';
  return 'returning_with_results';
}

/**
 * Asks for the reason in a modal dialog (outside the live list, so a repaint does not close it). Resolves with
 * the chosen code, or null when cancelled.
 */
export function askReason(action: ReasonAction, serial: number, priority = 0): Promise<ReasonCode | null> {
  return new Promise((resolve) => {
    const title = action === 'call' ? `Call serial ${serial} out of order` : `Recall serial ${serial}`;
    const chosen = defaultReason(action, priority);
    const options = REASONS.map(([code, label]) =>
      h(
        'label',
        { class: 'reason-option' },
        h('input', { type: 'radio', name: 'reason', value: code, checked: code === chosen }),
        ` ${label}`,
      ),
    );
    const dialog = h(
      'dialog',
      { class: 'card reason-picker', 'aria-labelledby': 'reason-title', 'data-testid': 'reason-picker' },
      h(
        'form',
        { method: 'dialog' },
        h('h2', { id: 'reason-title', style: 'margin-top:0' }, title),
        h(
          'fieldset',
          { class: 'plain' },
          h('legend', {}, 'Reason (kept in the fairness log)'),
          h('div', { class: 'stack' }, options),
        ),
        h(
          'div',
          { class: 'row', style: 'margin-top:.8rem' },
          h(
            'button',
            { type: 'submit', value: 'ok', 'data-testid': 'reason-confirm' },
            action === 'call' ? 'Call now' : 'Recall',
          ),
          h(
            'button',
            { type: 'submit', value: 'cancel', class: 'secondary', formnovalidate: true },
            'Cancel',
          ),
        ),
      ),
    );
    dialog.addEventListener('close', () => {
      const picked = dialog.querySelector<HTMLInputElement>('input[name=reason]:checked')?.value;
      dialog.remove();
      resolve(dialog.returnValue === 'ok' && picked ? (picked as ReasonCode) : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    dialog.querySelector<HTMLInputElement>('input[name=reason]:checked')?.focus();
  });
}
