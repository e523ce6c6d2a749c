// Admin: verify doctors waiting for it, and manage hospitals.
import { adminDoctorLists } from '../lib/admin-doctors.js';
import { api, requireUser } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { formValues, h, main, render, toast } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { hospitals } from '../lib/queues.js';
import { field } from '../lib/widgets.js';

const user = requireUser('admin');
const hospitalsEl = h('div', { class: 'card' });
const pendingTitle = h('h2', { id: 'pending-title', tabindex: -1 }, 'Waiting for verification');
const verifiedTitle = h('h2', { id: 'verified-title', tabindex: -1 }, 'Verified doctors');
const doctors = adminDoctorLists({ pending: pendingTitle, verified: verifiedTitle });

async function loadHospitals() {
  try {
    const list = await hospitals();
    const form = h(
      'form',
      {
        onsubmit: async (e: Event) => {
          e.preventDefault();
          try {
            await api.post('/hospitals', formValues(form));
            toast('Hospital added');
            void loadHospitals();
          } catch (err) {
            toast(errorText(err), 'error');
          }
        },
      },
      h(
        'div',
        { class: 'fields' },
        field('name', 'Name', h('input', { required: true })),
        field('city', 'City', h('input', { required: true })),
        field('address', 'Address', h('input', {})),
        field('phone', 'Phone', h('input', { type: 'tel' })),
        field(
          'timezone',
          'Time zone',
          h('input', { required: true, value: Intl.DateTimeFormat().resolvedOptions().timeZone }),
        ),
        h('div', { class: 'field' }, h('button', { type: 'submit', style: 'width:100%' }, 'Add hospital')),
      ),
    );
    render(
      hospitalsEl,
      h(
        'table',
        {},
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'Hospital'),
            h('th', {}, 'City'),
            h('th', {}, 'Time zone'),
            h('th', {}, h('span', { class: 'visually-hidden' }, 'Actions')),
          ),
        ),
        h(
          'tbody',
          {},
          list.map((x) =>
            h(
              'tr',
              {},
              h('td', {}, x.name),
              h('td', {}, x.city),
              h('td', {}, x.timezone),
              h(
                'td',
                { class: 'row' },
                h('a', { class: 'button secondary small', href: `/screen?hospitalId=${x.id}` }, 'Screen'),
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'secondary small',
                    onclick: async () => {
                      if (!confirm(`Remove ${x.name}?`)) return;
                      try {
                        await api.del(`/hospitals/${x.id}`);
                        toast('Hospital removed');
                        void loadHospitals();
                      } catch (err) {
                        toast(errorText(err), 'error');
                      }
                    },
                  },
                  'Remove',
                ),
              ),
            ),
          ),
        ),
      ),
      h('h3', { style: 'margin-top:1rem' }, 'Add a hospital'),
      form,
    );
  } catch (err) {
    render(hospitalsEl, h('p', { class: 'notice error' }, errorText(err)));
  }
}

if (user) {
  mountChrome();
  render(
    main(),
    h('h1', {}, 'Administration'),
    h('section', { 'aria-labelledby': 'pending-title' }, pendingTitle, doctors.pending.el),
    h('section', { 'aria-labelledby': 'verified-title' }, verifiedTitle, doctors.verified.el),
    h('h2', {}, 'Hospitals'),
    hospitalsEl,
  );
  void doctors.pending.reload();
  void doctors.verified.reload();
  void loadHospitals();
}
