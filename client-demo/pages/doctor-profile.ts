// Doctor profile: about, reviews, the availability calendar and booking for self or a dependent.
import QRCode from 'qrcode';
import { ApiError, api, currentUser, type PageOf, qs } from '../lib/api.js';
import { mountChrome } from '../lib/chrome.js';
import type { Booked, DoctorProfile, Opening } from '../lib/directory.js';
import { addDays, formatDate, formatTime, h, localDate, main, render } from '../lib/dom.js';
import { errorText } from '../lib/errors.js';
import { loadCurrencies, money } from '../lib/money.js';
import { patientPicker } from '../lib/patient-picker.js';
import { avatar, field, meta, select, stars } from '../lib/widgets.js';

interface Review {
  id: string;
  rating: number;
  comment: string;
  reviewer: string;
  createdAt: string;
}
interface Dependent {
  id: string;
  name: string;
  relation: string;
}

const doctorId = location.pathname.split('/')[2] ?? '';
const DAYS = 14;
const calendar = h('div', { class: 'days', 'data-testid': 'availability' });
const bookPanel = h('section', { 'aria-live': 'polite', 'data-testid': 'book-panel' });
let zone: string | undefined;
let zones: string[] = [];
/** Each sitting's times are read in its own hospital's zone. */
const hospitalZones = new Map<string, string>();
const zoneOf = (o: Opening) => hospitalZones.get(o.hospital.id) ?? zone;

function openingButton(o: Opening) {
  const full = o.remaining <= 0;
  return h(
    'button',
    {
      type: 'button',
      class: `day${full ? ' full' : ''}`,
      'aria-pressed': 'false',
      'data-date': o.date,
      onclick: (e: Event) => {
        for (const b of calendar.querySelectorAll('.day')) b.setAttribute('aria-pressed', 'false');
        (e.currentTarget as HTMLElement).setAttribute('aria-pressed', 'true');
        void showBooking(o);
      },
    },
    h('strong', {}, formatDate(o.date)),
    `${formatTime(o.start, zoneOf(o))}–${formatTime(o.end, zoneOf(o))}`,
    h('br'),
    h('span', { class: 'muted' }, `${o.hospital.name}${o.room ? ` · room ${o.room}` : ''}`),
    h('br'),
    full ? h('b', {}, 'Full · waitlist') : h('b', {}, `${o.remaining} of ${o.capacity} free`),
    o.nextEstimatedAt && !full
      ? h('span', { class: 'muted' }, ` · next ≈ ${formatTime(o.nextEstimatedAt, zoneOf(o))}`)
      : null,
  );
}

async function showBooking(o: Opening) {
  const user = currentUser();
  if (!user) {
    render(
      bookPanel,
      h(
        'div',
        { class: 'card' },
        h('p', {}, 'Sign in to book this session.'),
        h('a', { class: 'button', href: `/signin?next=${encodeURIComponent(location.pathname)}` }, 'Sign in'),
        ' ',
        h(
          'a',
          { class: 'button secondary', href: `/register?next=${encodeURIComponent(location.pathname)}` },
          'Register',
        ),
      ),
    );
    return;
  }
  const who: [string, string][] = [];
  if (user.role === 'patient') {
    who.push(['', `Myself (${user.name})`]);
    const deps = await api
      .get<PageOf<Dependent>>('/me/dependents')
      .catch(() => ({ items: [] as Dependent[] }));
    for (const d of deps.items) who.push([d.id, `${d.name} (${d.relation})`]);
  }
  if (o.remaining <= 0) {
    renderWaitlist(o, who);
    return;
  }
  const serialPicker = await serialChoices(o);
  const message = h('div', { role: 'alert' });
  // Staff and admins book on behalf of a patient they look up (or register) here.
  const picker = user.role === 'patient' ? null : patientPicker(() => render(message));
  const form = h(
    'form',
    {
      class: 'card',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        const data = new FormData(form);
        const profileId = picker ? (picker.selected()?.profileId ?? '') : String(data.get('profileId') ?? '');
        if (picker && !profileId) {
          render(message, h('p', { class: 'notice error' }, 'Find and choose the patient first.'));
          return;
        }
        const button = form.querySelector('button[type=submit]') as HTMLButtonElement;
        button.disabled = true;
        const picked = Number(data.get('serial') ?? 0);
        // The next free serial is what the server gives anyway; only a different pick is sent.
        const serial = picked && picked !== o.nextSerial ? { serial: picked } : {};
        try {
          const booked = await api.post<Booked>(
            '/appointments',
            { sessionId: o.sessionId, date: o.date, ...(profileId ? { profileId } : {}), ...serial },
            { idempotencyKey: crypto.randomUUID() },
          );
          await showSuccess(booked, o, picker?.selected()?.name);
        } catch (err) {
          if (err instanceof ApiError && err.code === 'SESSION_FULL') {
            void loadAvailability();
            renderWaitlist({ ...o, remaining: 0, queueId: o.queueId ?? queueOfFull(err) }, who);
            return;
          }
          render(message, h('p', { class: 'notice error' }, errorText(err)));
          button.disabled = false;
          if (err instanceof ApiError && err.code === 'CONFLICT') void refreshSerials(serialPicker, o);
        }
      },
    },
    h('h2', { style: 'margin-top:0' }, `Book ${formatDate(o.date)} at ${o.hospital.name}`),
    h(
      'p',
      { class: 'muted' },
      `Fee ${money(o.fee, o.hospital.id)} · the next free serial is chosen for you; pick a later one for a more convenient time.`,
    ),
    user.role === 'patient'
      ? field('profileId', 'Who is the appointment for?', select('profileId', who))
      : h('fieldset', { class: 'plain' }, h('legend', {}, 'Who is the appointment for?'), picker?.el),
    serialPicker,
    message,
    h('button', { type: 'submit', 'data-testid': 'book' }, 'Book serial'),
  );
  render(bookPanel, form);
  form.scrollIntoView({ behavior: 'smooth', block: 'nearest' });
}

interface FreeSerial {
  serial: number;
  estimatedAt: string;
}

/** The session's free serials with their times, as radio buttons; the next free one is chosen. */
async function serialChoices(o: Opening) {
  const el = h('fieldset', { class: 'plain', 'data-testid': 'serial-picker' });
  await refreshSerials(el, o);
  return el;
}

async function refreshSerials(el: HTMLElement, o: Opening) {
  let items: FreeSerial[] = [];
  try {
    items = (await api.get<PageOf<FreeSerial>>(`/sessions/${o.sessionId}/serials${qs({ date: o.date })}`))
      .items;
  } catch (err) {
    render(el, h('legend', {}, 'Serial'), h('p', { class: 'notice error' }, errorText(err)));
    return;
  }
  const chosen = items.find((i) => i.serial === o.nextSerial)?.serial ?? items[0]?.serial;
  render(
    el,
    h('legend', {}, 'Choose your serial and time'),
    items.length
      ? h(
          'div',
          { class: 'serials' },
          items.map((i) =>
            h(
              'label',
              {},
              h('input', {
                type: 'radio',
                name: 'serial',
                value: i.serial,
                checked: i.serial === chosen,
                required: true,
              }),
              h('span', {}, `#${i.serial}`),
              ' ',
              h('span', { class: 'muted' }, formatTime(i.estimatedAt, zoneOf(o))),
            ),
          ),
        )
      : h('p', { class: 'muted' }, 'No serial is free.'),
  );
}

function queueOfFull(err: ApiError): string | null {
  const d = err.details as { queueId?: string } | undefined;
  return d?.queueId ?? null;
}

/** A full day: join its waitlist (a freed place is offered to the first in line for a while). */
function renderWaitlist(o: Opening, who: [string, string][]) {
  const message = h('div', { role: 'alert' });
  const form = h(
    'form',
    {
      class: 'card',
      'data-testid': 'waitlist',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        if (!o.queueId) return;
        const profileId = String(new FormData(form).get('profileId') ?? '');
        try {
          await api.post(`/queues/${o.queueId}/waitlist`, profileId ? { profileId } : {});
          render(
            form,
            h(
              'p',
              { class: 'notice ok', 'data-testid': 'waitlist-joined' },
              'You are on the waitlist. If a place frees up we will message you; accept it in ',
              h('a', { href: '/me/appointments' }, 'My appointments'),
              ' before the offer runs out.',
            ),
          );
        } catch (err) {
          render(message, h('p', { class: 'notice error' }, errorText(err)));
        }
      },
    },
    h('h2', { style: 'margin-top:0' }, `${formatDate(o.date)} at ${o.hospital.name} is full`),
    h('p', {}, 'Join the waitlist, or choose another date above.'),
    who.length ? field('profileId', 'Who is it for?', select('profileId', who)) : null,
    message,
    o.queueId
      ? h('button', { type: 'submit', 'data-testid': 'join-waitlist' }, 'Join the waitlist')
      : h('p', { class: 'muted' }, 'This day has no waitlist yet.'),
  );
  render(bookPanel, form);
}

async function showSuccess(b: Booked, o: Opening, patientName?: string) {
  const link = `${location.origin}/t/${b.trackingToken}`;
  const svg = await QRCode.toString(link, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
  const qr = h('div', { class: 'qr', role: 'img', 'aria-label': 'QR code of the tracking link' });
  qr.innerHTML = svg;
  render(
    bookPanel,
    h(
      'div',
      { class: 'card success', 'data-testid': 'booked' },
      h('p', { class: 'notice ok' }, 'Booked. Keep this link to follow the queue.'),
      patientName ? h('p', { 'data-testid': 'booked-for' }, 'For ', h('b', {}, patientName)) : null,
      h('div', { class: 'muted' }, patientName ? 'Serial' : 'Your serial'),
      h('div', { class: 'serial-big', 'data-testid': 'booked-serial' }, b.serial),
      h('p', {}, `${formatDate(b.date)} · ${o.hospital.name}${o.room ? ` · room ${o.room}` : ''}`),
      h('p', {}, 'Estimated time ', h('b', {}, formatTime(b.estimatedAt, zoneOf(o)))),
      qr,
      h(
        'p',
        {},
        h(
          'a',
          { href: `/t/${b.trackingToken}`, 'data-testid': 'tracking-link', class: 'button' },
          patientName ? 'Open the tracking link' : 'Follow my place live',
        ),
      ),
      h(
        'p',
        { class: 'hint' },
        'Scan the code with your phone, or open ',
        h('a', { href: '/me/appointments' }, 'My appointments'),
        ' later.',
      ),
    ),
  );
  void loadAvailability();
}

async function loadAvailability() {
  // The earliest "today" among the doctor's hospitals: the server leaves out what has already passed.
  const from = [localDate(), ...zones.map((z) => localDate(z))].sort()[0];
  try {
    const page = await api.get<PageOf<Opening>>(
      `/doctors/${doctorId}/availability${qs({ from, to: addDays(from, DAYS - 1) })}`,
    );
    await loadCurrencies(page.items.map((o) => o.hospital.id));
    render(
      calendar,
      page.items.length
        ? page.items.map(openingButton)
        : h('p', { class: 'empty' }, `No sessions in the next ${DAYS} days.`),
    );
  } catch (err) {
    render(calendar, h('p', { class: 'notice error' }, errorText(err)));
  }
}

async function start() {
  mountChrome();
  let doctor: DoctorProfile;
  try {
    doctor = await api.get<DoctorProfile>(`/doctors/${doctorId}`);
  } catch (err) {
    render(
      main(),
      h('p', { class: 'notice error' }, errorText(err)),
      h('p', {}, h('a', { href: '/' }, 'Back to the search')),
    );
    return;
  }
  document.title = `${doctor.name} · CareQueue`;
  zone = doctor.hospitals[0]?.timezone;
  zones = doctor.hospitals.map((x) => x.timezone);
  for (const x of doctor.hospitals) hospitalZones.set(x.id, x.timezone);
  const reviews = h('div', { class: 'stack' });
  render(
    main(),
    h('p', {}, h('a', { href: '/' }, '← All doctors')),
    h(
      'section',
      { class: 'card doctor-card' },
      avatar(doctor.name, doctor.photoUrl, true),
      h(
        'div',
        {},
        h('h1', { style: 'margin:0' }, doctor.name),
        h(
          'div',
          { class: 'tags' },
          doctor.specializations.map((s) => h('span', { class: 'pill' }, s.name)),
        ),
        meta(
          stars(doctor.rating, doctor.ratingCount),
          doctor.experienceYears !== null ? `${doctor.experienceYears} yrs experience` : null,
          `${doctor.visitCount} visits`,
          doctor.licenseNo ? `Licence ${doctor.licenseNo}` : null,
        ),
        doctor.qualifications.length
          ? h(
              'p',
              {},
              doctor.qualifications
                .map(
                  (q) => `${q.name}${q.institute ? ` (${q.institute}${q.year ? `, ${q.year}` : ''})` : ''}`,
                )
                .join(' · '),
            )
          : null,
        doctor.bio ? h('p', {}, doctor.bio) : null,
        doctor.hospitals.length
          ? h(
              'p',
              { class: 'muted' },
              `Sits at ${doctor.hospitals.map((x) => `${x.name}, ${x.city}`).join('; ')}`,
            )
          : null,
      ),
    ),
    h('h2', {}, 'Choose a day'),
    calendar,
    bookPanel,
    h('h2', {}, 'Reviews'),
    reviews,
  );
  await loadAvailability();
  try {
    const page = await api.get<PageOf<Review>>(`/doctors/${doctorId}/reviews?limit=10`);
    render(
      reviews,
      page.items.length
        ? page.items.map((r) =>
            h(
              'blockquote',
              { class: 'card', style: 'margin:0' },
              h(
                'div',
                { class: 'stars' },
                '★'.repeat(r.rating),
                h('span', { class: 'muted' }, ` — ${r.reviewer}`),
              ),
              r.comment ? h('p', { style: 'margin:.3rem 0 0' }, r.comment) : null,
            ),
          )
        : h('p', { class: 'muted' }, 'No reviews yet.'),
    );
  } catch {
    render(reviews, h('p', { class: 'muted' }, 'Reviews are not available right now.'));
  }
}

void start();
