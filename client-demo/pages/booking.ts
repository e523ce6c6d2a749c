// Find a doctor: search by name or licence, filter by city, specialization, qualification and date.
import { api, type PageOf, qs } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import type { DoctorListItem } from '../lib/directory.js';
import { formValues, h, main, render } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { avatar, field, meta, select, stars } from '../lib/widgets.js';

interface Named {
  id: string;
  name: string;
}

const params = new URLSearchParams(location.search);
const results = h('section', { 'aria-live': 'polite', 'aria-busy': 'false', 'data-testid': 'results' });
let nextCursor: string | null = null;

function doctorCard(d: DoctorListItem) {
  return h(
    'article',
    { class: 'card doctor-card' },
    avatar(d.name, d.photoUrl),
    h(
      'div',
      { style: 'flex:1;min-width:0' },
      h('h3', {}, h('a', { href: `/doctors/${d.id}` }, d.name)),
      h(
        'div',
        { class: 'tags' },
        d.specializations.map((s) => h('span', { class: 'pill' }, s)),
      ),
      meta(
        stars(d.rating, d.ratingCount),
        d.experienceYears !== null ? `${d.experienceYears} yrs experience` : null,
        d.cities.length ? d.cities.join(', ') : null,
      ),
      h(
        'p',
        { style: 'margin:.6rem 0 0' },
        h('a', { class: 'button small', href: `/doctors/${d.id}` }, 'See times & book'),
      ),
    ),
  );
}

/** Bumped by every search: an answer that arrives after a newer search was started is dropped. */
let latestSearch = 0;

async function search(append = false) {
  const ticket = ++latestSearch;
  const query = Object.fromEntries(params);
  results.setAttribute('aria-busy', 'true');
  try {
    const page = await api.get<PageOf<DoctorListItem>>(
      `/doctors${qs({ ...query, limit: 12, cursor: append ? nextCursor : undefined })}`,
    );
    if (ticket !== latestSearch) return;
    nextCursor = page.nextCursor;
    const grid = append ? (results.querySelector('.grid') as HTMLElement) : h('div', { class: 'grid' });
    grid.append(...page.items.map(doctorCard));
    if (!append) {
      render(
        results,
        page.items.length
          ? grid
          : h('p', { class: 'empty' }, 'No doctors match. Try fewer filters or another spelling.'),
      );
    }
    results.querySelector('.more')?.remove();
    if (nextCursor) {
      results.append(
        h(
          'p',
          { class: 'more', style: 'text-align:center' },
          h('button', { type: 'button', class: 'secondary', onclick: () => search(true) }, 'More doctors'),
        ),
      );
    }
  } catch (err) {
    if (ticket === latestSearch) render(results, h('p', { class: 'notice error' }, errorText(err)));
  } finally {
    if (ticket === latestSearch) results.setAttribute('aria-busy', 'false');
  }
}

async function catalog(path: string): Promise<[string, string][]> {
  try {
    const page = await api.get<PageOf<Named>>(`${path}?limit=100`);
    return page.items.map((i) => [i.name, i.name]);
  } catch {
    return [];
  }
}

async function start() {
  mountChrome();
  const [specs, quals, cities] = await Promise.all([
    catalog('/specializations'),
    catalog('/qualifications'),
    api
      .get<PageOf<{ city: string }>>('/hospitals?limit=100')
      .then((p) => [...new Set(p.items.map((x) => x.city))].sort().map((c): [string, string] => [c, c]))
      .catch(() => [] as [string, string][]),
  ]);
  const form = h(
    'form',
    {
      class: 'card search',
      role: 'search',
      onsubmit: (e: Event) => {
        e.preventDefault();
        for (const key of [...params.keys()]) params.delete(key);
        for (const [k, v] of Object.entries(formValues(e.target as HTMLFormElement))) params.set(k, v);
        history.replaceState(null, '', `/${params.size ? `?${params}` : ''}`);
        void search();
      },
    },
    h(
      'div',
      { class: 'fields' },
      field(
        'q',
        'Doctor name or licence no.',
        h('input', {
          type: 'search',
          value: params.get('q') ?? '',
          placeholder: 'e.g. Rahman or BMDC-A-10234',
        }),
      ),
      field('city', 'City', select('city', [['', 'Any city'], ...cities], params.get('city') ?? '')),
      field(
        'specialization',
        'Specialization',
        select('specialization', [['', 'Any'], ...specs], params.get('specialization') ?? ''),
      ),
      field(
        'qualification',
        'Qualification',
        select('qualification', [['', 'Any'], ...quals], params.get('qualification') ?? ''),
      ),
      field(
        'availableOn',
        'Available on',
        h('input', { type: 'date', value: params.get('availableOn') ?? '' }),
      ),
      h('div', { class: 'field' }, h('button', { type: 'submit', style: 'width:100%' }, 'Search')),
    ),
  );
  render(
    main(),
    h('h1', {}, 'Find a doctor and take a serial'),
    h(
      'p',
      { class: 'muted' },
      'Book a numbered place in a doctor’s session, then follow the queue live on your phone.',
    ),
    form,
    results,
  );
  await search();
}

void start();
