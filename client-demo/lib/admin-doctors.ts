// The admin page's doctor lists: those waiting for verification, with what an admin checks before verifying
// them, and the verified ones. Both read GET /admin/doctors and page on with a "More" button.
import { api, type PageOf, qs } from './api.js';
import { h, render, toast } from './dom.js';
import { errorText } from './errors.js';

export interface AdminDoctor {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  licenseNo: string | null;
  experienceYears: number | null;
  photoUrl: string | null;
  specializations: { id: string; name: string }[];
  qualifications: { qualificationId: string; name: string; institute: string; year: number | null }[];
  createdAt: string;
  verifiedAt: string | null;
}

interface DoctorList {
  el: HTMLElement;
  reload: () => Promise<void>;
}

const PAGE_SIZE = 20;

function dateTime(iso: string) {
  const text = new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
  return h('time', { datetime: iso }, text);
}

function years(n: number | null): string {
  if (n === null) return 'Experience not given';
  return `${n} year${n === 1 ? '' : 's'} of experience`;
}

function qualification(q: AdminDoctor['qualifications'][number]): string {
  const where = [q.institute, q.year].filter((x) => x !== '' && x !== null).join(', ');
  return where ? `${q.name} (${where})` : q.name;
}

function contactCell(d: AdminDoctor) {
  return h(
    'td',
    {},
    h('strong', {}, d.name),
    h('div', {}, h('a', { href: `mailto:${d.email}` }, d.email)),
    d.phone ? h('div', {}, h('a', { href: `tel:${d.phone}` }, d.phone)) : null,
  );
}

function credentialsCell(d: AdminDoctor) {
  return h(
    'td',
    {},
    h('div', {}, years(d.experienceYears)),
    h(
      'div',
      {},
      d.specializations.length ? d.specializations.map((s) => s.name).join(', ') : 'No specializations given',
    ),
    d.qualifications.length
      ? h(
          'ul',
          { style: 'margin:0.2rem 0 0;padding-left:1.1rem' },
          d.qualifications.map((q) => h('li', {}, qualification(q))),
        )
      : h('div', {}, 'No qualifications given'),
  );
}

/** A table of doctors from one filter of GET /admin/doctors, loading further pages on request. */
function doctorList(options: {
  verified: boolean;
  headers: string[];
  row: (d: AdminDoctor) => HTMLTableRowElement;
  empty: string;
  more: string;
}): DoctorList {
  const el = h('div', { class: 'card', 'aria-busy': 'false' });
  let cursor: string | null = null;
  let tbody: HTMLTableSectionElement | null = null;

  async function fetchPage(append: boolean) {
    el.setAttribute('aria-busy', 'true');
    try {
      const page = await api.get<PageOf<AdminDoctor>>(
        `/admin/doctors${qs({ verified: String(options.verified), limit: PAGE_SIZE, cursor: append ? cursor : null })}`,
      );
      cursor = page.nextCursor;
      if (!append || !tbody) {
        tbody = h('tbody', {});
        const head = options.headers.map((text, i) =>
          h(
            'th',
            { scope: 'col' },
            i === options.headers.length - 1 ? h('span', { class: 'visually-hidden' }, text) : text,
          ),
        );
        render(
          el,
          page.items.length
            ? h('table', {}, h('thead', {}, h('tr', {}, head)), tbody)
            : h('p', { class: 'muted' }, options.empty),
        );
      }
      tbody.append(...page.items.map(options.row));
      el.querySelector('.more')?.remove();
      if (cursor) {
        el.append(
          h(
            'p',
            { class: 'more', style: 'text-align:center;margin:0.75rem 0 0' },
            h(
              'button',
              { type: 'button', class: 'secondary small', onclick: () => fetchPage(true) },
              options.more,
            ),
          ),
        );
      }
    } catch (err) {
      if (append) toast(errorText(err), 'error');
      else render(el, h('p', { class: 'notice error' }, errorText(err)));
    } finally {
      el.setAttribute('aria-busy', 'false');
    }
  }

  return { el, reload: () => fetchPage(false) };
}

/**
 * Takes a row out of its list. Keyboard focus, if it was on the row's button, moves to the next row's button
 * (or the previous one's, or else the list's heading) instead of falling back to the top of the page.
 */
function removeRow(tr: HTMLTableRowElement, hadFocus: boolean, fallback: HTMLElement, list: DoctorList) {
  const neighbour = (tr.nextElementSibling ?? tr.previousElementSibling) as HTMLElement | null;
  const tbody = tr.parentElement;
  tr.remove();
  if (hadFocus) (neighbour?.querySelector('button') ?? fallback).focus();
  // The last row went: show the next page (or the empty message) rather than an empty table.
  if (tbody && tbody.children.length === 0) void list.reload();
}

export function adminDoctorLists(headings: { pending: HTMLElement; verified: HTMLElement }) {
  const pending: DoctorList = doctorList({
    verified: false,
    headers: ['Doctor', 'Licence no.', 'Credentials', 'Registered', 'Actions'],
    empty: 'No doctors are waiting for verification.',
    more: 'More waiting doctors',
    row: (d) => {
      const tr = h(
        'tr',
        {},
        contactCell(d),
        h('td', {}, d.licenseNo ?? '—'),
        credentialsCell(d),
        h('td', {}, dateTime(d.createdAt)),
        h('td', {}),
      );
      const button = h(
        'button',
        {
          type: 'button',
          class: 'small',
          'aria-label': `Verify ${d.name}`,
          onclick: async () => {
            const hadFocus = document.activeElement === button;
            button.disabled = true;
            try {
              await api.post(`/doctors/${d.id}/verify`, { verified: true });
              removeRow(tr, hadFocus, headings.pending, pending);
              toast(`${d.name} verified: now listed publicly`);
              void verified.reload();
            } catch (err) {
              button.disabled = false;
              toast(errorText(err), 'error');
            }
          },
        },
        'Verify',
      );
      tr.lastElementChild?.append(button);
      return tr;
    },
  });

  const verified: DoctorList = doctorList({
    verified: true,
    headers: ['Doctor', 'Licence no.', 'Status', 'Actions'],
    empty: 'No verified doctors yet.',
    more: 'More verified doctors',
    row: (d) => {
      const tr = h(
        'tr',
        {},
        contactCell(d),
        h('td', {}, d.licenseNo ?? '—'),
        h(
          'td',
          {},
          h('span', { class: 'pill called' }, 'Verified'),
          d.verifiedAt ? h('div', { class: 'muted' }, dateTime(d.verifiedAt)) : null,
        ),
        h('td', {}),
      );
      const button = h(
        'button',
        {
          type: 'button',
          class: 'secondary small',
          'aria-label': `Unverify ${d.name}`,
          onclick: async () => {
            const hadFocus = document.activeElement === button;
            button.disabled = true;
            try {
              await api.post(`/doctors/${d.id}/verify`, { verified: false });
              removeRow(tr, hadFocus, headings.verified, verified);
              toast(`${d.name} is no longer listed`);
              void pending.reload();
            } catch (err) {
              button.disabled = false;
              toast(errorText(err), 'error');
            }
          },
        },
        'Unverify',
      );
      tr.lastElementChild?.append(button);
      return tr;
    },
  });

  return { pending, verified };
}
