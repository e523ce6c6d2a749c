// Admin: verify doctors waiting for it, and manage hospitals.
import { api, type PageOf, requireUser } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import { errorText, formValues, h, main, render, toast } from '../lib/dom.js';
import { hospitals } from '../lib/queues.js';
import { field } from '../lib/widgets.js';

interface UserRow {
  id: string;
  name: string;
  email: string;
  role: string;
  doctorId?: string | null;
  disabled?: boolean;
}
interface DoctorView {
  id: string;
  name: string;
  licenseNo: string | null;
  verified: boolean;
}

const user = requireUser('admin');
const doctorsEl = h('div', { class: 'card' });
const hospitalsEl = h('div', { class: 'card' });

async function loadDoctors() {
  try {
    const users = await api.get<PageOf<UserRow>>('/admin/users?role=doctor&limit=100');
    const doctors = await Promise.all(
      users.items
        .filter((u) => u.doctorId)
        .map((u) => api.get<DoctorView>(`/doctors/${u.doctorId}`).catch(() => null)),
    );
    const rows = doctors.filter((d): d is DoctorView => d !== null);
    render(
      doctorsEl,
      rows.length
        ? h(
            'table',
            {},
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                h('th', {}, 'Doctor'),
                h('th', {}, 'Licence'),
                h('th', {}, 'Status'),
                h('th', {}, h('span', { class: 'visually-hidden' }, 'Actions')),
              ),
            ),
            h(
              'tbody',
              {},
              rows.map((d) =>
                h(
                  'tr',
                  {},
                  h('td', {}, d.name),
                  h('td', {}, d.licenseNo ?? '—'),
                  h(
                    'td',
                    {},
                    d.verified
                      ? h('span', { class: 'pill called' }, 'Verified')
                      : h('span', { class: 'pill skipped' }, 'Waiting'),
                  ),
                  h(
                    'td',
                    {},
                    h(
                      'button',
                      {
                        type: 'button',
                        class: d.verified ? 'secondary small' : 'small',
                        'aria-label': `${d.verified ? 'Unverify' : 'Verify'} ${d.name}`,
                        onclick: async () => {
                          try {
                            await api.post(`/doctors/${d.id}/verify`, { verified: !d.verified });
                            toast(d.verified ? 'Verification removed' : 'Doctor verified');
                            void loadDoctors();
                          } catch (err) {
                            toast(errorText(err), 'error');
                          }
                        },
                      },
                      d.verified ? 'Unverify' : 'Verify',
                    ),
                  ),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No doctor accounts yet.'),
    );
  } catch (err) {
    render(doctorsEl, h('p', { class: 'notice error' }, errorText(err)));
  }
}

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
    h('h2', {}, 'Doctors'),
    doctorsEl,
    h('h2', {}, 'Hospitals'),
    hospitalsEl,
  );
  void loadDoctors();
  void loadHospitals();
}
