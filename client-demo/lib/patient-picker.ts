// The front desk's patient picker: search by name, phone or e-mail (GET /v1/patients), pick one, or register
// a walk-in patient on the spot (POST /v1/patients) and pick them.
import { api, type PageOf, qs } from './api.js';
import { h, render } from './dom.js';
import { errorText } from './errors.js';
import { field } from './widgets.js';

export interface PatientMatch {
  profileId: string;
  name: string;
  phone: string | null;
  dateOfBirth: string | null;
  relation: string;
  accountId: string;
  accountName: string;
  accountEmail: string | null;
}

/** Named inputs' trimmed values (this group sits inside the booking form, so it cannot be a form itself). */
function inputValues(root: HTMLElement): Record<string, string> {
  const out: Record<string, string> = {};
  for (const input of root.querySelectorAll('input'))
    if (input.name && input.value.trim()) out[input.name] = input.value.trim();
  return out;
}

export interface PatientPicker {
  el: HTMLElement;
  selected(): PatientMatch | null;
}

/** `onChange` runs whenever the chosen patient changes (null: none chosen). */
export function patientPicker(onChange: (patient: PatientMatch | null) => void = () => {}): PatientPicker {
  let chosen: PatientMatch | null = null;
  const status = h('div', { role: 'status', 'aria-live': 'polite', class: 'picker-status' });
  const results = h('ul', { class: 'picker-results', 'aria-label': 'Matching patients' });
  const chosenEl = h('div', { 'data-testid': 'chosen-patient' });
  const registerEl = h('div', {});
  const query = h('input', {
    type: 'search',
    autocomplete: 'off',
    placeholder: 'Name, phone (e.g. 01711…) or e-mail',
    minlength: '2',
  });

  const describe = (p: PatientMatch) =>
    [
      p.phone,
      p.accountEmail,
      p.relation === 'self' ? null : `${p.relation} of ${p.accountName}`,
      p.dateOfBirth ? `born ${p.dateOfBirth}` : null,
    ]
      .filter(Boolean)
      .join(' · ');

  const choose = (p: PatientMatch | null) => {
    chosen = p;
    render(results);
    render(registerEl);
    render(
      chosenEl,
      p
        ? h(
            'p',
            { class: 'notice ok chosen' },
            'Booking for ',
            h('b', {}, p.name),
            h('span', { class: 'muted' }, ` — ${describe(p) || 'no contact details'} `),
            h(
              'button',
              {
                type: 'button',
                class: 'link',
                onclick: () => {
                  choose(null);
                  query.focus();
                },
              },
              'Change',
            ),
          )
        : null,
    );
    search.hidden = p !== null;
    onChange(p);
  };

  const registerForm = (name: string) => {
    const message = h('div', { role: 'alert' });
    const form = h(
      'div',
      { class: 'card subtle', role: 'group', 'aria-labelledby': 'register-patient-title' },
      h('h3', { id: 'register-patient-title' }, 'Register a new patient'),
      h(
        'p',
        { class: 'hint' },
        'Creates an account of their own with the phone or e-mail they give, so reminders reach them.',
      ),
      h(
        'div',
        { class: 'fields' },
        field('newName', 'Full name', h('input', { value: name, autocomplete: 'off' })),
        field('newPhone', 'Mobile phone', h('input', { type: 'tel', autocomplete: 'off' })),
        field('newEmail', 'E-mail (optional)', h('input', { type: 'email', autocomplete: 'off' })),
        field('newDateOfBirth', 'Date of birth (optional)', h('input', { type: 'date' })),
      ),
      message,
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: async () => {
            const v = inputValues(form);
            try {
              const created = await api.post<PatientMatch>('/patients', {
                name: v.newName ?? '',
                ...(v.newPhone ? { phone: v.newPhone } : {}),
                ...(v.newEmail ? { email: v.newEmail } : {}),
                ...(v.newDateOfBirth ? { dateOfBirth: v.newDateOfBirth } : {}),
              });
              choose(created);
            } catch (err) {
              render(
                message,
                h(
                  'p',
                  { class: 'notice error' },
                  errorText(err, {
                    CONFLICT: 'A patient with this phone or e-mail already exists. Search for them.',
                  }),
                ),
              );
            }
          },
        },
        'Register and choose',
      ),
    );
    return form;
  };

  const run = async () => {
    const q = query.value.trim();
    if (q.length < 2) {
      render(status, 'Type at least two characters.');
      return;
    }
    render(status, 'Searching…');
    try {
      const page = await api.get<PageOf<PatientMatch>>(`/patients${qs({ q, limit: 10 })}`);
      render(
        results,
        page.items.map((p) =>
          h(
            'li',
            {},
            h(
              'button',
              { type: 'button', class: 'secondary pick', onclick: () => choose(p) },
              h('b', {}, p.name),
              h('span', { class: 'muted' }, ` ${describe(p)}`),
            ),
          ),
        ),
      );
      render(
        status,
        page.items.length
          ? `${page.items.length}${page.nextCursor ? '+' : ''} found — choose one, or register someone new.`
          : 'No patient found.',
      );
      render(
        registerEl,
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            onclick: () => {
              render(registerEl, registerForm(/\d|@/.test(q) ? '' : q));
              (registerEl.querySelector('input') as HTMLInputElement | null)?.focus();
            },
          },
          'Register a new patient',
        ),
      );
    } catch (err) {
      render(status, h('span', { class: 'error-text' }, errorText(err)));
    }
  };

  query.addEventListener('keydown', (e) => {
    if (e.key === 'Enter') {
      e.preventDefault();
      void run();
    }
  });
  const search = h(
    'div',
    { class: 'picker' },
    h(
      'div',
      { class: 'row picker-row' },
      field('patientQuery', 'Find the patient', query),
      h('button', { type: 'button', class: 'secondary', onclick: () => void run() }, 'Find patient'),
    ),
    status,
    results,
    registerEl,
  );
  return { el: h('div', {}, chosenEl, search), selected: () => chosen };
}
