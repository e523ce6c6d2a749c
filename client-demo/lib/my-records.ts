// "My records" on /me/appointments: the visit records (with their prescriptions) of the patient's own profile
// and each dependent, and who else opened them (doctors, and break-glass with its reason).
import { api, type PageOf } from './api.js';
import { recordCard, type VisitRecord } from './care.js';
import { h, render } from './dom.js';
import { errorText } from './errors.js';

interface Access {
  id: number;
  at: string;
  action: string;
  actor: { name: string | null; role: string | null };
  reason: string | null;
}

const ACTION_LABEL: Record<string, string> = {
  break_glass: 'opened a record in an emergency (break-glass)',
  'record.read': 'read a visit record',
  'records.list': 'looked at the visit records',
  'record.write': 'wrote a visit record',
  'history.read': 'read the medical history',
  'history.write': 'updated the medical history',
  'prescription.write': 'issued a prescription',
  'prescription.read': 'printed a prescription',
  'attachment.read': 'opened an attachment',
  'attachment.write': 'attached a file',
};

export function myRecordsSection() {
  const section = h('section', { 'aria-label': 'My records', 'data-testid': 'my-records' });

  async function load() {
    try {
      const me = await api.get<{ profileId?: string | null; name: string }>('/me');
      const dependents = await api.get<PageOf<{ id: string; name: string }>>('/me/dependents');
      const profiles = [...(me.profileId ? [{ id: me.profileId, name: me.name }] : []), ...dependents.items];
      const pages = await Promise.all(
        profiles.map((p) => api.get<PageOf<VisitRecord>>(`/patients/${p.id}/records?limit=20`)),
      );
      const access = await api.get<PageOf<Access>>('/me/record-access?limit=20');
      render(
        section,
        profiles.map((p, i) =>
          pages[i].items.length === 0 && i > 0
            ? null
            : h(
                'div',
                {},
                h('h3', {}, p.name),
                pages[i].items.length
                  ? pages[i].items.map(recordCard)
                  : h('p', { class: 'muted' }, 'No visit records yet.'),
              ),
        ),
        h('h3', {}, 'Who opened my records'),
        access.items.length
          ? h(
              'ul',
              { 'data-testid': 'record-access' },
              access.items.map((a) =>
                h(
                  'li',
                  {},
                  `${new Date(a.at).toLocaleString()} — ${a.actor.name ?? 'someone'} (${a.actor.role ?? '?'}) `,
                  ACTION_LABEL[a.action] ?? a.action,
                  a.reason ? `: “${a.reason}”` : '',
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'Nobody but you.'),
      );
    } catch (err) {
      render(section, h('p', { class: 'notice error' }, errorText(err)));
    }
  }

  return { section, load };
}
