// A clinic morning in a real browser: a patient books on the booking page, follows the queue on the phone
// view while the lobby screen shows it, the doctor calls patients from the console, and the screen recovers
// by itself when the server is killed and started again.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { type AuditOptions, auditPage } from './a11y.js';
import {
  type ConsoleWatch,
  call,
  earlyZoneToday,
  freePort,
  launchBrowser,
  login,
  type RunningServer,
  SCREENSHOTS,
  startServer,
  tempDataDir,
  watchConsole,
} from './harness.js';

const PATIENT = 'patient@demo.carequeue.local';
const DOCTOR = 'dr.rahman@demo.carequeue.local';
const STAFF = 'desk@demo.carequeue.local';
const ADMIN = 'admin@demo.carequeue.local';
const PASSWORD = 'carequeue-demo';

let server: RunningServer;
let browser: Browser;
let data: Awaited<ReturnType<typeof tempDataDir>>;
let port: number;
const consoleWatch: ConsoleWatch = { errors: [], outage: false };
const zone = earlyZoneToday();
const a11yProblems: string[] = [];

const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

/** Runs the accessibility audit on the page as it is now; problems are asserted at the end of each test. */
async function audit(page: Page, name: string, options?: AuditOptions) {
  for (const problem of await auditPage(page, options)) a11yProblems.push(`${name}: ${problem}`);
}

/** Waits until the toast has slid out of the viewport (it stays up 4 s, then animates away). */
async function toastGone(page: Page) {
  await page.waitForFunction(() => {
    const toast = document.getElementById('toast');
    return !toast || toast.getBoundingClientRect().top >= window.innerHeight;
  });
}

function addDays(date: string, days: number): string {
  const [y, m, d] = date.split('-').map(Number);
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10);
}

/** Creates a session (confirmed by an admin); a demo sitting overlapping it (the demo doctor sits every day) is removed first. */
async function createSession(doctorId: string, token: string, body: Record<string, unknown>) {
  for (let attempt = 0; ; attempt++) {
    try {
      const created = await call<{ id: string }>(
        server.url,
        'POST',
        `/doctors/${doctorId}/sessions`,
        body,
        token,
      );
      // A doctor's sitting at a hospital is bookable once that hospital (its staff or an admin) confirms it.
      const admin = await login(server.url, ADMIN);
      await call(server.url, 'POST', `/sessions/${created.id}/confirm`, {}, admin.accessToken);
      return created;
    } catch (err) {
      const overlap = /→ 409 .*"sessionId":"([0-9a-f-]{36})"/.exec(String(err));
      if (!overlap || attempt > 5) throw err;
      await call(server.url, 'DELETE', `/sessions/${overlap[1]}?cancelAffected=true`, undefined, token);
    }
  }
}

async function signIn(page: Page, email: string, next = '') {
  await page.goto(`${server.url}/signin${next ? `?next=${encodeURIComponent(next)}` : ''}`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL((url) => url.pathname !== '/signin');
}

async function newPage(name: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
  // The browser sits in the hospital's zone, as the clinic's screens and its patients' phones do.
  const page = await browser.newPage({ viewport, timezoneId: zone.timezone });
  watchConsole(page, name, consoleWatch);
  return page;
}

before(async () => {
  data = await tempDataDir();
  port = await freePort();
  await mkdir(SCREENSHOTS, { recursive: true });
  server = await startServer(data.dir, port);
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await data?.remove();
});

test('book, follow live on the phone and the lobby screen, call next from the console, survive a restart', async () => {
  // Set-up through the API: a hospital where it is early today, and a session of the demo doctor there.
  const admin = await login(server.url, ADMIN);
  const hospital = await call<{ id: string }>(
    server.url,
    'POST',
    '/hospitals',
    { name: 'Mirpur Family Clinic', city: 'Dhaka', address: 'Section 10, Mirpur', timezone: zone.timezone },
    admin.accessToken,
  );
  const doctor = await login(server.url, DOCTOR);
  const doctorId = doctor.user.doctorId as string;
  const start = `${String(zone.localHour + 1).padStart(2, '0')}:00`;
  const session = await createSession(doctorId, doctor.accessToken, {
    hospitalId: hospital.id,
    weekday: zone.weekday,
    start,
    end: '23:00',
    slotMinutes: 10,
    room: '3',
    fee: 500,
  });
  // Two patients booked before ours, so ours starts with people ahead.
  for (const n of [1, 2]) {
    const email = `early${n}-${Date.now()}@example.com`;
    const tokens = await call<{ accessToken: string }>(server.url, 'POST', '/auth/register', {
      email,
      password: PASSWORD,
      name: `Early Patient ${n}`,
      role: 'patient',
    });
    await call(
      server.url,
      'POST',
      '/appointments',
      { sessionId: session.id, date: zone.date },
      tokens.accessToken,
    );
  }

  // The patient books through the pages: search, the doctor's profile, today's session, book.
  const patient = await newPage('booking');
  await signIn(patient, PATIENT);
  await patient.goto(`${server.url}/`);
  await patient.getByLabel('Doctor name or licence no.').fill('Rahman');
  await patient.getByRole('button', { name: 'Search' }).click();
  await patient.getByRole('link', { name: 'Dr. Ayesha Rahman' }).first().waitFor();
  // Only the search's answer is shown, even when the page's first, unfiltered list arrives after it.
  await patient.waitForFunction(() => {
    const names = [...document.querySelectorAll('.grid h3')].map((e) => e.textContent ?? '');
    return names.length > 0 && names.every((name) => name.includes('Rahman'));
  });
  await shot(patient, 'booking-search');
  await audit(patient, 'booking');
  await patient.getByRole('link', { name: 'Dr. Ayesha Rahman' }).first().click();
  await patient.waitForURL(`**/doctors/${doctorId}`);
  const day = patient.locator(`[data-testid=availability] button[data-date="${zone.date}"]`, {
    hasText: 'Mirpur Family Clinic',
  });
  await day.waitFor();
  await shot(patient, 'doctor-profile');
  await audit(patient, 'doctor profile');
  await day.click();
  await patient.getByTestId('book').click();
  const serialText = await patient.getByTestId('booked-serial').textContent();
  assert.equal(serialText, '3', 'the third booking of the session gets serial 3');
  await patient.locator('.qr svg').waitFor();
  await patient.getByTestId('booked').screenshot({ path: join(SCREENSHOTS, 'booking-success.png') });
  const trackingHref = await patient.getByTestId('tracking-link').getAttribute('href');
  assert.match(trackingHref ?? '', /^\/t\/[\w-]+$/);

  // The phone view and the lobby screen, in two other pages.
  const phone = await newPage('phone', { width: 390, height: 844 });
  await phone.goto(`${server.url}${trackingHref}`);
  await phone.getByTestId('position').filter({ hasText: '2 ahead of you' }).waitFor();
  await phone.locator('[data-testid=connection][data-state=live]').waitFor();
  await shot(phone, 'patient-view');
  await audit(phone, 'patient view', { noNav: true });

  const screen = await newPage('screen', { width: 1600, height: 900 });
  await screen.goto(`${server.url}/screen?hospitalId=${hospital.id}`);
  await screen.locator('[data-testid=connection][data-state=live]').waitFor();
  const panel = screen.locator('.panel', { hasText: 'Dr. Ayesha Rahman' });
  await panel.getByTestId('next-serials').filter({ hasText: '123' }).waitFor();
  assert.equal(await panel.getByTestId('now-serving').textContent(), '—');
  assert.doesNotMatch((await screen.locator('main').textContent()) ?? '', /Early Patient|Karim/);

  // The doctor calls the next patient from the console; the other pages change without a reload.
  const doctorPage = await newPage('doctor');
  await signIn(doctorPage, DOCTOR);
  await doctorPage.goto(`${server.url}/doctor`);
  await doctorPage.getByTestId('call-next').waitFor();
  // The demo doctor may have other sessions today; pick this hospital's.
  const tab = doctorPage.getByRole('tab', { name: /Mirpur Family Clinic/ });
  if ((await tab.count()) > 0) await tab.click();
  await doctorPage.locator('.queue-list').getByText('Karim Hossain').waitFor();
  const phoneNavigations: string[] = [];
  phone.on('framenavigated', (frame) => phoneNavigations.push(frame.url()));
  await doctorPage.getByTestId('call-next').click();
  await doctorPage.getByTestId('now-serving').filter({ hasText: /^1$/ }).waitFor();
  await panel.getByTestId('now-serving').filter({ hasText: /^1$/ }).waitFor();
  await panel.getByTestId('next-serials').filter({ hasText: /^23$/ }).waitFor();
  await phone.getByTestId('position').filter({ hasText: '1 ahead of you' }).waitFor();
  assert.equal(await phone.getByTestId('now-serving').textContent(), '1');
  await shot(doctorPage, 'doctor-console');
  await audit(doctorPage, 'doctor console');

  // Keyboard shortcut N calls the next one; the patient is now next.
  await doctorPage.locator('body').press('n');
  await panel.getByTestId('now-serving').filter({ hasText: /^2$/ }).waitFor();
  await phone.getByTestId('position').filter({ hasText: 'You are next' }).waitFor();
  assert.deepEqual(phoneNavigations, [], 'the phone view updated without reloading');

  // Kill the server; the screen says it is offline, then recovers by itself once the server is back.
  consoleWatch.outage = true;
  await server.kill();
  await screen.locator('[data-testid=connection][data-state=offline]').waitFor();
  await shot(screen, 'lobby-screen-offline');
  server = await startServer(data.dir, port);
  await screen.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: 60_000 });
  await phone.locator('[data-testid=connection][data-state=live]').waitFor({ timeout: 60_000 });
  consoleWatch.outage = false;
  assert.equal(
    await panel.getByTestId('now-serving').textContent(),
    '2',
    'state after the restart is correct',
  );

  // After the restart the same pages keep following changes made by the doctor.
  const again = await login(server.url, DOCTOR);
  const queues = await call<{ items: { queueId: string; hospitalId: string }[] }>(
    server.url,
    'GET',
    `/queues?date=${zone.date}&hospitalId=${hospital.id}`,
    undefined,
    again.accessToken,
  );
  await call(server.url, 'POST', `/queues/${queues.items[0].queueId}/call-next`, {}, again.accessToken);
  await panel.getByTestId('now-serving').filter({ hasText: /^3$/ }).waitFor();
  await phone.getByTestId('your-turn').filter({ hasText: 'room 3' }).waitFor();
  await shot(phone, 'patient-view-your-turn');

  // The front desk of this hospital registers an emergency walk-in: it goes to the front of the line.
  const deskEmail = `desk-${Date.now()}@example.com`;
  await call(
    server.url,
    'POST',
    '/admin/users',
    { email: deskEmail, password: PASSWORD, name: 'Mirpur Desk', role: 'staff', hospitalId: hospital.id },
    (await login(server.url, ADMIN)).accessToken,
  );
  for (const n of [4, 5]) {
    const tokens = await call<{ accessToken: string }>(server.url, 'POST', '/auth/register', {
      email: `later${n}-${Date.now()}@example.com`,
      password: PASSWORD,
      name: `Later Patient ${n}`,
      role: 'patient',
    });
    await call(
      server.url,
      'POST',
      '/appointments',
      { sessionId: session.id, date: zone.date },
      tokens.accessToken,
    );
  }
  await panel.getByTestId('next-serials').filter({ hasText: /^45$/ }).waitFor();
  const desk = await newPage('desk');
  await signIn(desk, deskEmail);
  await desk.goto(`${server.url}/desk`);
  const deskQueue = desk.locator('section[data-queue-id]', { hasText: 'Dr. Ayesha Rahman' });
  await deskQueue.getByText('Later Patient 5').waitFor();
  await deskQueue.getByLabel('Walk-in name').fill('Rafiq Ahmed');
  await deskQueue.getByLabel('Priority').selectOption('emergency');
  await deskQueue.getByRole('button', { name: 'Add walk-in' }).click();
  await deskQueue.getByText('Rafiq Ahmed').waitFor();
  await panel.getByTestId('next-serials').filter({ hasText: /^645$/ }).waitFor();
  assert.doesNotMatch((await screen.locator('main').textContent()) ?? '', /Rafiq/);
  await toastGone(desk); // the walk-in's toast would cover the form
  await shot(desk, 'front-desk');
  await audit(desk, 'front desk');
  await desk.waitForTimeout(5000); // let the call-out flash finish so the picture shows the resting screen
  await shot(screen, 'lobby-screen');
  await audit(screen, 'lobby screen', { noNav: true });

  // The desk books on behalf of patients a week ahead: one found by phone (typed in national format), and a
  // walk-in without an account, registered on the spot.
  await desk.getByRole('link', { name: 'Book for a patient' }).click();
  await desk.getByLabel('Doctor name or licence no.').fill('Rahman');
  await desk.getByRole('button', { name: 'Search' }).click();
  await desk.getByRole('link', { name: 'Dr. Ayesha Rahman' }).first().click();
  const nextWeek = desk.locator(`[data-testid=availability] button[data-date="${addDays(zone.date, 7)}"]`, {
    hasText: 'Mirpur Family Clinic',
  });
  await nextWeek.click();
  await desk.getByLabel('Find the patient').fill('01711000011');
  await desk.getByRole('button', { name: 'Find patient' }).click();
  await desk.getByRole('button', { name: /Nusrat Jahan/ }).click();
  await desk.getByTestId('chosen-patient').filter({ hasText: 'Nusrat Jahan' }).waitFor();
  await desk.getByTestId('book').click();
  await desk.getByTestId('booked-for').filter({ hasText: 'Nusrat Jahan' }).waitFor();
  assert.equal(await desk.getByTestId('booked-serial').textContent(), '1');

  await nextWeek.click();
  await desk.getByLabel('Find the patient').fill('Mina Begum');
  await desk.getByRole('button', { name: 'Find patient' }).click();
  await desk.getByText('No patient found.').waitFor();
  await desk.getByRole('button', { name: 'Register a new patient' }).click();
  assert.equal(await desk.getByLabel('Full name').inputValue(), 'Mina Begum');
  await desk.getByLabel('Mobile phone').fill('01819 123456');
  await desk.getByTestId('book-panel').screenshot({ path: join(SCREENSHOTS, 'front-desk-booking.png') });
  await audit(desk, 'booking on behalf');
  await desk.getByRole('button', { name: 'Register and choose' }).click();
  await desk.getByTestId('chosen-patient').filter({ hasText: '+8801819123456' }).waitFor();
  await desk.getByTestId('book').click();
  await desk.getByTestId('booked-for').filter({ hasText: 'Mina Begum' }).waitFor();
  assert.equal(await desk.getByTestId('booked-serial').textContent(), '2');

  // The doctor completes the visit; the patient rates it, and the review shows on the doctor's profile.
  await doctorPage.locator('.actions button.ok').click();
  await phone.getByTestId('status-text').filter({ hasText: 'Completed' }).waitFor();
  await patient.goto(`${server.url}/me/appointments`);
  const visit = patient
    .locator('article', { hasText: 'Mirpur Family Clinic' })
    .filter({ hasText: 'Completed' });
  await visit.getByRole('button', { name: 'Rate this visit' }).click();
  await visit.getByLabel('5 stars').check();
  await visit.getByLabel(/Comment/).fill('Kind, careful and on time.');
  await shot(patient, 'my-appointments');
  await audit(patient, 'my appointments');
  await visit.getByRole('button', { name: 'Send review' }).click();
  await visit.getByTestId('review-done').filter({ hasText: 'You rated this visit 5 of 5' }).waitFor();
  await visit.getByRole('link', { name: 'See the doctor’s reviews' }).click();
  await patient.waitForURL(`**/doctors/${doctorId}`);
  await patient.locator('blockquote', { hasText: 'Kind, careful and on time.' }).waitFor();

  assert.deepEqual(consoleWatch.errors, []);
  assert.deepEqual(a11yProblems.splice(0), []);
});

test('sign-in, register a doctor and verify them on /admin, edit a session, the desk page: no console errors', async () => {
  const page = await newPage('misc');
  await page.goto(`${server.url}/signin`);
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  await shot(page, 'sign-in');
  await audit(page, 'sign-in');

  // A new doctor registers; they are not listed until an admin verifies them.
  const stamp = Date.now().toString(36);
  const doctorName = 'Dr. Selina Haque';
  await page.goto(`${server.url}/register`);
  await page.getByRole('heading', { name: 'Create an account' }).waitFor();
  await page.getByLabel('Full name').fill(doctorName);
  await page.getByLabel('E-mail').fill(`selina-${stamp}@example.com`);
  await page.getByLabel('Password (8 characters or more)').fill(PASSWORD);
  await page.getByLabel('I am a').selectOption('doctor');
  await page.getByLabel('Licence number').fill(`BMDC-E2E-${stamp}`);
  await audit(page, 'register');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/doctor');
  await page.getByRole('heading', { name: `Good day, ${doctorName}` }).waitFor();
  await page.evaluate(() => localStorage.clear());

  const unlisted = await call<{ items: { name: string }[] }>(server.url, 'GET', '/doctors?q=Selina%20Haque');
  assert.ok(!unlisted.items.some((d) => d.name === doctorName), 'an unverified doctor is not listed');

  await signIn(page, ADMIN);
  await page.goto(`${server.url}/admin`);
  const waiting = page.getByRole('region', { name: 'Waiting for verification' });
  const row = waiting.getByRole('row', { name: new RegExp(doctorName) });
  await row.getByText(`BMDC-E2E-${stamp}`).waitFor();
  await row.getByText(`selina-${stamp}@example.com`).waitFor();
  await shot(page, 'admin');
  await audit(page, 'admin');
  await row.getByRole('button', { name: `Verify ${doctorName}` }).click();
  // The row leaves the waiting list, keyboard focus stays in that list, and the doctor shows as verified.
  await row.waitFor({ state: 'detached' });
  const focusInList = await page.evaluate(
    () => document.activeElement?.closest('section[aria-labelledby="pending-title"]') != null,
  );
  assert.ok(focusInList, 'keyboard focus stays in the waiting list');
  await page
    .getByRole('region', { name: 'Verified doctors' })
    .getByRole('row', { name: new RegExp(doctorName) })
    .getByText('Verified', { exact: true })
    .waitFor();
  await page.goto(`${server.url}/`);
  await page.getByLabel('Doctor name or licence no.').fill('Selina Haque');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: doctorName, exact: true }).first().waitFor();
  await page.evaluate(() => localStorage.clear());

  // The demo doctor edits a weekly session: the room saves at once; new slot times would move a booking, so
  // the console shows the refusal and cancels the affected booking only after a confirmation.
  const doctor = await login(server.url, DOCTOR);
  const doctorId = doctor.user.doctorId as string;
  const today = zone.date;
  const openings = await call<{ items: { sessionId: string; date: string; remaining: number }[] }>(
    server.url,
    'GET',
    `/doctors/${doctorId}/availability?from=${today}&to=${addDays(today, 6)}`,
  );
  // A later day of a weekly session that does not also sit on the demo clinic's today (its zone may be a
  // day ahead of this test's): the demo bookings of today would be moved too.
  const weekdayOf = (date: string) => new Date(`${date}T12:00:00Z`).getUTCDay();
  const busy = new Set([weekdayOf(today), weekdayOf(addDays(today, 1))]);
  const opening = openings.items
    .filter((o) => o.date > addDays(today, 1) && o.remaining > 0 && !busy.has(weekdayOf(o.date)))
    .sort((a, b) => a.date.localeCompare(b.date))[0];
  assert.ok(opening, 'the demo doctor has an open sitting this week');
  const booker = await call<{ accessToken: string }>(server.url, 'POST', '/auth/register', {
    email: `edit-${stamp}@example.com`,
    password: PASSWORD,
    name: 'Moved Patient',
    role: 'patient',
  });
  const booked = await call<{ id: string }>(
    server.url,
    'POST',
    '/appointments',
    { sessionId: opening.sessionId, date: opening.date },
    booker.accessToken,
  );
  await signIn(page, DOCTOR);
  await page.goto(`${server.url}/doctor`);
  await page.getByRole('tab', { name: 'Profile & sessions' }).click();
  const sessionRow = page.locator(`tr[data-session-id="${opening.sessionId}"]`);
  await sessionRow.getByRole('button', { name: /^Edit/ }).click();
  const editor = page.getByTestId('session-editor');
  await editor.getByLabel('Room').fill('E2E-9');
  await editor.getByRole('button', { name: 'Save changes' }).click();
  await sessionRow.getByText('room E2E-9').waitFor();

  await sessionRow.getByRole('button', { name: /^Edit/ }).click();
  const slot = editor.getByLabel('Minutes per patient');
  await slot.fill(String(Number(await slot.inputValue()) + 5));
  consoleWatch.expected = [/HTTP 409 PATCH \/v1\/sessions\//, /status of 409/];
  await editor.getByRole('button', { name: 'Save changes' }).click();
  const refusal = editor.getByTestId('affected-bookings');
  await refusal.filter({ hasText: 'would cancel 1 booked appointment' }).waitFor();
  await toastGone(page); // the room's "saved" toast, not in the picture
  await editor.screenshot({ path: join(SCREENSHOTS, 'doctor-sessions.png') });
  await audit(page, 'doctor sessions');
  consoleWatch.expected = undefined;
  let asked = '';
  page.once('dialog', (dialog) => {
    asked = dialog.message();
    void dialog.accept();
  });
  await refusal.getByRole('button', { name: 'Cancel 1 affected booking(s) and save' }).click();
  await page.getByText('Session saved; 1 booking(s) cancelled').waitFor();
  assert.match(asked, /Cancel 1 booking/);
  const after = await call<{ status: string }>(
    server.url,
    'GET',
    `/appointments/${booked.id}`,
    undefined,
    booker.accessToken,
  );
  assert.equal(after.status, 'cancelled');
  await page.evaluate(() => localStorage.clear());

  await signIn(page, STAFF);
  await page.goto(`${server.url}/desk`);
  await page.getByRole('heading', { name: 'Front desk' }).waitFor();
  await page.getByRole('heading', { name: 'Messages that failed' }).waitFor();
  await audit(page, 'front desk (demo)');

  assert.deepEqual(consoleWatch.errors, []);
  assert.deepEqual(a11yProblems.splice(0), []);
});
